"""gunicorn's own error answers (request line or headers over its limits, malformed requests)
carry the API's JSON error body, as every answer of the application does."""

import json
import socket

import pytest

pytestmark = pytest.mark.slow


def raw_request(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


GUNICORN_ERRORS = [
    pytest.param(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, id="url-over-limit_request_line"),
    pytest.param(
        b"GET /health HTTP/1.1\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(60)) + b"\r\n",
        431,
        id="headers-over-limit_request_fields",
    ),
    pytest.param(
        b"GET /health HTTP/1.1\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431, id="header-over-limit_request_field_size"
    ),
    pytest.param(b"BOGUS\r\n\r\n", 400, id="invalid-request-line"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, id="invalid-content-length"),
]


def test_gunicorn_own_errors_are_json(gunicorn_two_workers):
    _, port = gunicorn_two_workers
    for param in GUNICORN_ERRORS:
        request, expected = param.values
        status, headers, body = raw_request(port, request)
        assert status == expected, (param.id, status, body[:200])
        assert headers["content-type"] == "application/json", (param.id, headers, body[:200])
        assert int(headers["content-length"]) == len(body)
        error = json.loads(body)["error"]
        assert error["status"] == expected and error["title"] and error["description"], (param.id, error)
    status, headers, _ = raw_request(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200, "the server still answers after its errors"
