"""The nested payloads of the records are typed (CheckDoc, ReleaseRef, StepDoc) and their JSON is unchanged."""

import dataclasses
import json
from typing import get_type_hints

from pipeline.records import CheckDoc, DeliveryReport, Deployment, ReleaseRef, StepDoc
from pipeline.reports import CheckResult

CHECK = {"name": "step_50.error_rate", "passed": True, "value": 0.0, "expected": "<= 0.01", "detail": ""}
DELIVERY = {
    "schema": 1,
    "endpoint_url": "http://127.0.0.1:8080",
    "champion": {"url": "http://127.0.0.1:9001", "model_version": "aaaaaaaaaaaa"},
    "candidate": {"url": "http://127.0.0.1:9002", "model_version": "bbbbbbbbbbbb"},
    "config_file": "quality_gates/delivery.toml",
    "passed": True,
    "steps": [{"name": "step_50", "weight": 50, "hold_s": 2.0, "seconds": 2.1, "measurements": {}, "checks": [CHECK]}],
    "final_weights": {"http://127.0.0.1:9002": 100, "http://127.0.0.1:9001": 0},
    "aborted_at": None,
    "breach": None,
    "stage": "deploy",
}


def test_a_check_is_stored_with_exactly_the_fields_of_its_typed_document():
    check = CheckResult("step_50.error_rate", True, 0.0, "<= 0.01")
    assert check.to_dict() == CHECK
    assert set(get_type_hints(CheckDoc)) == {f.name for f in dataclasses.fields(CheckResult)}


def test_a_delivery_report_of_the_earlier_format_reads_and_writes_back_unchanged(tmp_path):
    path = tmp_path / "delivery.json"
    path.write_text(json.dumps(DELIVERY))
    report = DeliveryReport.read_file(path)
    assert report.steps[0]["checks"][0]["expected"] == "<= 0.01"
    assert report.to_dict() == DELIVERY


def test_the_typed_documents_name_what_the_records_hold():
    assert get_type_hints(DeliveryReport)["steps"] == list[StepDoc]
    assert get_type_hints(DeliveryReport)["candidate"] is ReleaseRef
    assert get_type_hints(Deployment)["releases"] == dict[str, ReleaseRef]
    assert {"url", "model_version", "parked"} == set(get_type_hints(ReleaseRef))
