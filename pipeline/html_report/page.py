"""HTML building blocks: escaped text, tables, and writing a page with its stylesheet."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from pathlib import Path

STYLESHEET = "report.css"
CSS = """\
body { font-family: sans-serif; margin: 2em auto; max-width: 72em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #11702b; font-weight: bold; } .fail { color: #b00020; font-weight: bold; }
.inconclusive { color: #8a5a00; font-weight: bold; }
.verdict { font-size: 1.3em; padding: 0.4em 0.8em; border: 2px solid; display: inline-block; }
.plots img { width: 32em; max-width: 100%; margin: 0 1em 1em 0; }
.note { color: #555; font-size: 0.9em; }
"""


def text(value: object) -> str:
    return html.escape(str(value), quote=True)


def number(value: object, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return text("-" if value is None else value)
    if isinstance(value, int | float):
        return f"{value:.{digits}f}" if isinstance(value, float) else str(value)
    return text(value)


def verdict(passed: bool | None, label: str | None = None) -> str:
    kind = "inconclusive" if passed is None else "pass" if passed else "fail"
    return f'<span class="{kind}">{text(label or kind.upper())}</span>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """Cells are HTML already (escape with `text`); columns in `numeric` align right."""
    head = "".join(f"<th>{text(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image(file: str, alt: str) -> str:
    return f'<img src="{text(file)}" alt="{text(alt)}">'


def write(path: Path, title: str, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / STYLESHEET).write_text(CSS, encoding="utf-8")
    document = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{text(title)}</title>"
        f'<link rel="stylesheet" href="{STYLESHEET}"></head>\n<body>\n{body}\n</body></html>\n'
    )
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(document, encoding="utf-8")
    partial.replace(path)
    return path
