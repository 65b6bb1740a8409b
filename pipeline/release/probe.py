"""Checks of a live endpoint over HTTP, as a client sees it. Used by smoke and rollback."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import http_client
from pipeline.ml.gate_config import load_jsonl
from pipeline.reports import CheckResult
from sentiment.app import MAX_BATCH, MAX_TEXT_CHARS, release_id

BAD_INPUTS = {
    "malformed_json": (b"{not json", "application/json"),
    "wrong_content_type": (b'{"text": "fine"}', "text/plain"),
    "missing_text": (b'{"txt": "fine"}', "application/json"),
    "text_too_long": (json.dumps({"text": "a" * (MAX_TEXT_CHARS + 1)}).encode(), "application/json"),
    "too_many_texts": (json.dumps({"texts": ["ok"] * (MAX_BATCH + 1)}).encode(), "application/json"),
}


def request(url: str, body: bytes | None = None, content_type: str = "application/json") -> tuple[int, bytes]:
    """(status, body) of one request; OSError (http_client.HttpError) if no answer came."""
    answer = http_client.fetch(url, body, content_type)
    return answer.status_code, answer.content


def wait_healthy(url: str, deadline_s: float, log: Any = print) -> float | None:
    """Seconds until GET /health answered 200, retried with exponential backoff; None at the deadline."""
    started = time.monotonic()
    retry = http_client.patient(deadline_s, log, waiting_for=f"{url}/health")
    try:
        healthy = http_client.fetch(f"{url}/health", retry=retry).status_code == 200
    except http_client.HttpError:
        healthy = False
    return time.monotonic() - started if healthy else None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def run_checks(
    url: str,
    expected: dict[str, str],
    quality_gates: Path,
    p99_budget_ms: float,
    requests: int,
    deadline_s: float,
    log: Any = print,
) -> list[CheckResult]:
    waited = wait_healthy(url, deadline_s, log)
    checks = [
        CheckResult(
            "health.live",
            waited is not None,
            round(waited, 2) if waited is not None else "timeout",
            f"< {deadline_s:g}s",
        )
    ]
    if waited is None:
        return checks
    status, body = request(f"{url}/ready")
    checks.append(CheckResult("health.ready", status == 200, status, "200"))
    version = _json(request(f"{url}/version")[1]) or {}
    # /version shows an opaque id of the image (the image itself names the code revision and the AWS account).
    shown = {"model_version": expected.get("model_version"), "release": release_id(expected.get("image", ""))}
    for key, value in shown.items():
        if value:
            checks.append(CheckResult(f"version.{key}", version.get(key) == value, str(version.get(key)), f"= {value}"))
    for number, canary in enumerate(load_jsonl(quality_gates / "canaries.jsonl", {"text", "label"}), 1):
        status, body = request(f"{url}/predict", json.dumps({"text": canary["text"]}).encode())
        label = (_json(body) or {}).get("label") if status == 200 else f"HTTP {status}"
        checks.append(
            CheckResult(
                f"canary.{number:02d}", label == canary["label"], str(label), f"= {canary['label']}", canary["text"]
            )
        )
    for name, (body_bytes, content_type) in BAD_INPUTS.items():
        status, body = request(f"{url}/predict", body_bytes, content_type)
        ok = 400 <= status < 500 and isinstance((_json(body) or {}).get("error"), dict)
        checks.append(CheckResult(f"bad_input.{name}", ok, status, "4xx + JSON error"))
    timings = []
    payload = json.dumps({"text": "a warm, funny and moving film"}).encode()
    for _ in range(requests):
        started = time.perf_counter()
        status, _ = request(f"{url}/predict", payload)
        timings.append((time.perf_counter() - started) * 1000 if status == 200 else float("inf"))
    p99 = float(np.percentile(timings, 99))
    checks.append(
        CheckResult(
            "latency.p99_ms",
            p99 <= p99_budget_ms,
            round(p99, 2),
            f"<= {p99_budget_ms:g}",
            f"over {requests} sequential requests",
        )
    )
    return checks
