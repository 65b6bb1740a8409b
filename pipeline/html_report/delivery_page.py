"""`reports/delivery.html`: a release's traffic steps, what the judge read at each, and the verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.html_report import page, plots
from pipeline.records import DeliveryReport

PAGE = "delivery.html"
ROLES = ("champion", "candidate")
SERIES = (
    ("error_rate", "5xx rate", "delivery-errors.svg"),
    ("p99_ms", "p99 of /predict, ms", "delivery-p99.svg"),
    ("positive_share", "positive share", "delivery-positive.svg"),
)


def _value(step: dict[str, Any], role: str, metric: str) -> float | None:
    """A release's number at a step; the model's numbers are the shadow replay's, or in AWS its EMF metrics'."""
    measured = step.get("measurements", {})
    model_source = next((k for k in ("shadow", "behaviour") if isinstance(measured.get(k), dict)), None)
    if metric == "positive_share" and model_source:
        value = measured[model_source].get(role, {}).get(metric)
    else:
        value = measured.get(role, {}).get(metric) if isinstance(measured.get(role), dict) else None
    return value if isinstance(value, int | float) else None


def _timeline(report: DeliveryReport, directory: Path) -> list[str]:
    """One plot per metric: both releases at the end of each step, over seconds since the rollout began."""
    ends, elapsed = [], 0.0
    for step in report.steps:
        elapsed += float(step.get("seconds") or 0)
        ends.append(elapsed)
    figures = []
    for metric, label, file in SERIES:
        series = {}
        for role in ROLES:
            points = [
                (t, v) for t, s in zip(ends, report.steps, strict=True) if (v := _value(s, role, metric)) is not None
            ]
            if points:
                series[role] = ([t for t, _ in points], [v for _, v in points])
        if series:
            figures.append(plots.timeline(directory / file, label, label, series))
    return figures


def _checks(step: dict[str, Any]) -> str:
    return "<br>".join(
        f"{page.verdict(c.get('passed'))} {page.text(c.get('name'))} = {page.number(c.get('value'))} "
        f"(required {page.text(c.get('expected'))}){' ' + page.text(c['detail']) if c.get('detail') else ''}"
        for c in step.get("checks", [])
    )


def _steps(report: DeliveryReport) -> str:
    rows = []
    for step in report.steps:
        numbers = []
        for role in ROLES:
            measured = step.get("measurements", {}).get(role)
            if isinstance(measured, dict):
                answers = measured.get("live_requests", measured.get("requests"))
                numbers.append(
                    f"{role}: {page.number(answers)} answers, 5xx {page.number(measured.get('error_rate'), 3)}, "
                    f"p99 {page.number(measured.get('p99_ms'), 1)} ms, "
                    f"positive {page.number(_value(step, role, 'positive_share'), 2)}"
                )
        rows.append([page.text(step.get("name")), page.number(step.get("weight")), page.number(step.get("seconds"), 1),
                     "<br>".join(numbers) or "-", _checks(step) or "-"])  # fmt: skip
    return page.table(["step", "candidate weight %", "seconds", "what the judge read", "checks"], rows, numeric=[1, 2])


def write(report: DeliveryReport, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    champion, candidate = report.champion, report.candidate
    if report.passed:
        status = page.verdict(True, f"PROMOTED: {candidate.get('model_version')} takes all traffic")
    else:
        status = page.verdict(False, f"ABORTED at {report.aborted_at}: {report.breach}")
    figures = _timeline(report, directory)
    body = "\n".join([
        f"<h1>Release {page.text(candidate.get('model_version'))} at {page.text(report.endpoint_url)}</h1>",
        f'<p class="verdict">{status}</p>',
        f"<p>Champion {page.text(champion.get('model_version'))} ({page.text(champion.get('url'))}), "
        f"candidate {page.text(candidate.get('model_version'))} ({page.text(candidate.get('url'))}); "
        f"steps and limits from {page.text(report.config_file)}.</p>",
        "<h2>Steps</h2>", _steps(report),
        "<h2>Time line</h2>",
        '<div class="plots">' + "".join(page.image(f, f) for f in figures) + "</div>"
        if figures else '<p class="note">No step read numbers from both releases.</p>',
        "<h2>Final weights</h2>",
        page.table(["release", "percent"], [[page.text(u), str(w)] for u, w in report.final_weights.items()], [1]),
    ])  # fmt: skip
    return page.write(directory / PAGE, f"Release {candidate.get('model_version')}", body)
