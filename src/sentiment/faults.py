"""Faults a test build can inject, to prove that a bad release is caught: never on by default.

`SENTIMENT_TEST_FAULT` (read once, at start) turns one on; unset (every shipped configuration:
the image, the user data and the local release runner never set it) nothing is installed.

  error_share:0.3   answer that share of POST /predict with a 500 (random, per request)
  flip_labels       answer every /predict with the opposite label and 1 - score

Used by the delivery tests (tests/integration/release/test_progressive_delivery.py): the traffic steps must
abort such a release by themselves.
"""

from __future__ import annotations

import random

import falcon

VARIABLE = "SENTIMENT_TEST_FAULT"
PREDICT = "/predict"


class ErrorShare:
    """Falcon middleware: a share of POST /predict fails with a 500 before the model runs."""

    def __init__(self, share: float) -> None:
        self.share = share
        self.random = random.Random()  # noqa: S311  # nosec B311 - a test fault, not security

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: object, params: dict) -> None:
        if req.method == "POST" and req.uri_template == PREDICT and self.random.random() < self.share:
            raise falcon.HTTPInternalServerError(title="Injected fault", description=f"{VARIABLE} is set")


class FlipLabels:
    """Falcon middleware: every /predict answer says the opposite (the metrics still see the real scores)."""

    @staticmethod
    def _flip(result: dict) -> dict:
        label = "negative" if result.get("label") == "positive" else "positive"
        return {**result, "label": label, "score": round(1.0 - float(result["score"]), 6)}

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: object, ok: bool) -> None:
        if req.uri_template != PREDICT or not ok:
            return
        media = resp.media
        if isinstance(media, dict) and "label" in media:
            resp.media = self._flip(media)
        elif isinstance(media, list):
            resp.media = [self._flip(r) for r in media]


def parse(value: str) -> object:
    """The middleware for a SENTIMENT_TEST_FAULT value, or ValueError naming what is accepted."""
    kind, _, argument = value.partition(":")
    if kind == "flip_labels" and not argument:
        return FlipLabels()
    if kind == "error_share":
        try:
            share = float(argument)
        except ValueError:
            share = -1.0
        if 0.0 < share <= 1.0:
            return ErrorShare(share)
    raise ValueError(f"{VARIABLE}={value!r}: expected error_share:<0-1> or flip_labels")


def configured(value: str) -> object | None:
    """The middleware a SENTIMENT_TEST_FAULT value asks for; None when it is empty (the default)."""
    value = value.strip()
    return parse(value) if value else None
