"""docs/reference/ is generated from the code and must match it: a setting, metric, record field or
command-line flag added without regenerating the pages fails here."""

import importlib.util
from pathlib import Path

import pytest
from prometheus_client import Counter
from pydantic import Field

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("gen_reference", REPO / "docs" / "gen_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_pages_match_the_code(generator, capsys):
    assert generator.main(["--check"]) == 0, capsys.readouterr().out


def test_every_setting_is_described():
    from pipeline.settings import PipelineSettings

    undocumented = [name for name, field in PipelineSettings.model_fields.items() if not field.description]
    assert not undocumented, f"settings without a description: {undocumented}"


def test_a_new_setting_without_regenerated_docs_fails_the_check(generator, monkeypatch, capsys):
    import pipeline.settings

    class WithANewSetting(pipeline.settings.PipelineSettings):
        brand_new_knob: int = Field(3, description="added without running docs/gen_reference.py")

    monkeypatch.setattr(pipeline.settings, "PipelineSettings", WithANewSetting)
    assert generator.main(["--check"]) == 1
    assert "settings.md" in capsys.readouterr().out


def test_a_new_metric_without_regenerated_docs_fails_the_check(generator, monkeypatch, capsys):
    from sentiment import metrics

    monkeypatch.setattr(metrics, "BRAND_NEW", Counter("sentiment_brand_new", "added", registry=None), raising=False)
    assert generator.main(["--check"]) == 1
    assert "metrics.md" in capsys.readouterr().out
