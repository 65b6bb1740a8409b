"""The documentation site builds with `mkdocs build --strict` (no broken link, no page left out of the
navigation) and opens offline in headless Chromium: the navigation shows and no resource fails to load.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from browser import serving

REPO = Path(__file__).resolve().parents[3]
MKDOCS = Path(sys.executable).parent / "mkdocs"


def build(site: Path, config: Path = REPO / "mkdocs.yml") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    built = build(site)
    assert built.returncode == 0, built.stderr[-3000:]
    return site


def test_a_broken_link_fails_the_strict_build(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(REPO / "docs", docs)
    (docs / "index.md").write_text((docs / "index.md").read_text() + "\n[gone](how-to/no-such-page.md)\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text((REPO / "mkdocs.yml").read_text().replace("docs_dir: docs", f"docs_dir: {docs}"))
    built = build(tmp_path / "site", config)
    assert built.returncode != 0
    assert "no-such-page.md" in built.stderr


@pytest.fixture
def served(site):
    with serving(site) as url:
        yield url


def test_the_site_opens_offline_with_its_navigation_and_no_failed_loads(served, browser):
    browser.open(f"{served}/index.html")
    text = browser.text()
    for section in ("Tutorial", "How-to", "Reference", "Explanation"):
        assert section in text, f"the navigation lacks {section}"
    assert browser.problems() == []
    shot = REPO / "artifacts" / "reports" / "docs-index.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    browser.screenshot(shot)
    assert shot.stat().st_size > 10_000


def test_the_browser_check_sees_a_page_that_needs_the_network(served, site, browser):
    """The check above can fail: a page with a web font and a script from a CDN is caught."""
    (site / "needs-network.html").write_text(
        '<html><head><link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">'
        '<script src="https://cdn.example.com/a.js"></script></head><body>hi</body></html>'
    )
    browser.open(f"{served}/needs-network.html")
    assert len([p for p in browser.problems() if p.startswith("load failed")]) == 2, browser.problems()
