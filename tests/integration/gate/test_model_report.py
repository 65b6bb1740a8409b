"""`python -m pipeline.gate` writes reports/model.html for a blessed and for a blocked candidate, and the
page renders under the Content-Security-Policy Jenkins serves published HTML with: no violation, no
failed load, every plot drawn."""

import shutil
import tomllib
from pathlib import Path

import pytest
from browser import serving

from pipeline.errors import run
from pipeline.stages import gate

REPO = Path(__file__).resolve().parents[3]
JENKINS_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'self';"

pytestmark = pytest.mark.slow


def gated(candidate: Path, reports: Path, *extra: str) -> int:
    return run("gate", gate.main, ["--model", str(candidate), "--reports", str(reports), *extra])


@pytest.fixture(scope="module")
def candidate(trained_dir, tmp_path_factory):
    copy = tmp_path_factory.mktemp("gate") / "candidate"
    shutil.copytree(trained_dir, copy)
    return copy


@pytest.fixture(scope="module")
def blessed(candidate, trained_dir, tmp_path_factory):
    reports = tmp_path_factory.mktemp("blessed")
    assert gated(candidate, reports, "--baseline", str(trained_dir)) == 0
    return reports


@pytest.fixture(scope="module")
def blocked(candidate, tmp_path_factory):
    reports = tmp_path_factory.mktemp("blocked")
    strict = reports / "thresholds.toml"
    text = (REPO / "quality_gates" / "thresholds.toml").read_text()
    strict.write_text(text.replace("[test.accuracy]\nmin = 0.78", "[test.accuracy]\nmin = 0.99"))
    assert tomllib.loads(strict.read_text())["test"]["accuracy"]["min"] == 0.99
    assert gated(candidate, reports, "--no-champion", "--thresholds", str(strict)) == 1
    return reports


def test_a_blessed_candidate_gets_a_page_with_its_champion_beside_it(blessed):
    page = (blessed / "model.html").read_text()
    assert "BLESSED" in page and "Candidate and champion" in page and "allowed drop" in page
    assert "Wang &amp; Manning 2012" in page  # the anchor ladder names its sources
    assert (blessed / "model_card.json").is_file()
    assert sum(f.stat().st_size for f in blessed.iterdir() if f.suffix in (".html", ".svg", ".css")) < 1_000_000


def test_a_blocked_candidate_gets_a_page_that_names_the_failed_check(blocked):
    page = (blocked / "model.html").read_text()
    assert "BLOCKED: 1 of" in page
    assert 'test.accuracy</td><td class="num">0.7' in page and '<span class="fail">FAIL</span>' in page


def test_the_pages_render_under_jenkins_csp_with_every_plot(blessed, blocked, browser):
    for reports in (blessed, blocked):
        assert (
            "<script" not in (reports / "model.html").read_text()
            and "style=" not in (reports / "model.html").read_text()
        )
        with serving(reports, {"Content-Security-Policy": JENKINS_CSP}) as url:
            browser.events.clear()
            browser.open(f"{url}/model.html")
            assert browser.problems() == []
            drawn = browser.call(
                "Runtime.evaluate",
                expression="Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)",
                returnByValue=True,
            )["result"]["value"]
            assert drawn == [True] * 4, drawn
    shot = REPO / "artifacts" / "reports" / "model-report.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    browser.screenshot(shot, selector=".plots")


def test_the_browser_check_sees_a_csp_violation(blessed, browser, tmp_path):
    """The check above can fail: an inline style and a script are refused under Jenkins' policy."""
    (tmp_path / "bad.html").write_text(
        '<html><head><link rel="stylesheet" href="report.css"></head>'
        '<body><p style="color: red">inline</p><script>document.title = "x"</script></body></html>'
    )
    shutil.copy(blessed / "report.css", tmp_path)
    with serving(tmp_path, {"Content-Security-Policy": JENKINS_CSP}) as url:
        browser.open(f"{url}/bad.html")
    assert browser.problems(), "an inline style under style-src 'self' must be reported"
