"""The pipeline's HTTP client: `requests`, with retries by urllib3's Retry (never a hand-written loop).

Probes, smoke checks and the local image registry's lookups call `fetch`; a caller that waits for a
service to come up passes `patient(deadline_s)`, whose exponential backoff (urllib3's) fits the deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

# One request's own limit (to connect, and between two reads of its answer).
TIMEOUT_S = 10.0
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_FACTOR = 0.25
LONGEST_PAUSE_S = 15.0


class HttpError(OSError):
    """No answer at all: refused, reset or timed out, after the retries allowed."""


class _LoggedRetry(Retry):
    """Retry that says, before each pause, what it is waiting for (progress on long waits)."""

    log: Callable[[str], Any] | None = None
    waiting_for = ""

    def new(self, **kw: Any) -> _LoggedRetry:
        retry = super().new(**kw)
        retry.log, retry.waiting_for = self.log, self.waiting_for
        return retry

    def sleep(self, response: Any = None) -> None:
        if self.log is not None:
            self.log(f"waiting for {self.waiting_for} (retry {len(self.history)})")
        super().sleep(response)


def pause_before(retry: int) -> float:
    """urllib3's pause before the n-th retry (from 1): none, then backoff_factor * 2**(n-1), at most the longest."""
    return 0.0 if retry <= 1 else min(BACKOFF_FACTOR * 2 ** (retry - 1), LONGEST_PAUSE_S)


def pauses_within(deadline_s: float) -> int:
    """How many retries urllib3's backoff fits in deadline_s (0, 0.5, 1, 2, ... 15, 15 ... seconds)."""
    retries, waited = 0, 0.0
    while waited + pause_before(retries + 1) <= deadline_s and retries < 1000:
        retries += 1
        waited += pause_before(retries)
    return retries


def patient(deadline_s: float, log: Callable[[str], Any] | None = None, waiting_for: str = "") -> Retry:
    """Retries of refused connections and 429/502/503/504 answers, backing off within deadline_s."""
    retries = pauses_within(deadline_s)
    retry = _LoggedRetry(
        total=retries,
        connect=retries,
        read=0,
        status=retries,
        other=0,
        allowed_methods=frozenset({"GET", "HEAD"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=BACKOFF_FACTOR,
        backoff_max=LONGEST_PAUSE_S,
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    retry.log, retry.waiting_for = log, waiting_for
    return retry


def fetch(
    url: str,
    body: bytes | None = None,
    content_type: str = "application/json",
    method: str | None = None,
    headers: dict[str, str] | None = None,
    retry: Retry | int = 0,
    timeout: float = TIMEOUT_S,
) -> requests.Response:
    """The answer to one request (any status: the caller judges it); HttpError if none came."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    sent = dict(headers or {})
    if body is not None:
        sent["Content-Type"] = content_type
    with requests.Session() as session:
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", HTTPAdapter(max_retries=retry))
        try:
            return session.request(
                method or ("POST" if body is not None else "GET"), url, data=body, headers=sent, timeout=timeout
            )
        except requests.RequestException as exc:
            raise HttpError(f"{url}: {exc}") from exc


def ok(url: str, timeout: float = 2.0) -> bool:
    """True if GET url answers 200 (one attempt)."""
    try:
        return fetch(url, timeout=timeout).status_code == 200
    except HttpError:
        return False
