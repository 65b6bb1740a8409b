"""`python -m sentiment.healthcheck`: exit 0 if this container's server answers /health (the image's HEALTHCHECK).

Reads the port from SERVE_BIND or GUNICORN_BIND (as `python -m sentiment serve` does), so it follows
a release started on another port.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def health_url(bind: str) -> str:
    host, _, port = bind.rpartition(":")
    host = "127.0.0.1" if host in ("", "0.0.0.0", "[::]") else host  # noqa: S104  # nosec B104 - a probe target, not a bind
    return f"http://{host}:{port}/health"


def main() -> int:
    bind = os.environ.get("SERVE_BIND") or os.environ.get("GUNICORN_BIND") or "127.0.0.1:8000"  # serve's default
    url = health_url(bind)
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:  # noqa: S310  # nosec B310 - loopback http only
            return 0 if resp.status == 200 else 1
    except OSError as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
