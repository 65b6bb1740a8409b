"""Headless Chromium driven over the DevTools protocol, for tests that open a page as a person would."""

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

CHROMIUM = shutil.which("chromium")


class Browser:
    """Headless Chromium driven over the DevTools protocol, so that every failed load, console error
    and Content-Security-Policy violation of a page is seen (Chromium's own log does not show them).
    Requests outside loopback go to a dead proxy: a page that needs the network fails visibly."""

    def __init__(self, profile: Path) -> None:
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--no-first-run", f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9",
             "--proxy-bypass-list=127.0.0.1", "--remote-debugging-port=0", "--window-size=1280,900",
             "about:blank"],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        for line in self.process.stderr:
            if line.startswith("DevTools listening on "):
                port = line.split("127.0.0.1:", 1)[1].split("/", 1)[0]
                break
        else:
            raise RuntimeError("chromium exited before it listened for DevTools")
        pages = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30).read())
        page = next(p for p in pages if p["type"] == "page")
        self.stack = contextlib.ExitStack()
        self.socket = self.stack.enter_context(connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30))
        self.ids = itertools.count(1)
        self.events: list[dict] = []
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params) -> dict:
        number = next(self.ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == number:
                assert "error" not in message, message
                return message["result"]
            self.events.append(message)

    def open(self, url: str, settle_s: float = 2.0) -> None:
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 60
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            assert time.monotonic() < deadline, "the page never finished loading"
            self.events.append(json.loads(self.socket.recv(timeout=60)))
        with contextlib.suppress(TimeoutError):
            while True:  # what the page still loads or logs once it has loaded
                self.events.append(json.loads(self.socket.recv(timeout=settle_s)))

    def problems(self) -> list[str]:
        """Failed loads, console errors, uncaught exceptions and CSP violations, one line each."""
        found = []
        urls = {
            e["params"]["requestId"]: e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        }
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.loadingFailed":
                url = urls.get(params.get("requestId"), "?")
                if url.endswith("/favicon.ico"):  # asked of every origin by the browser; Jenkins has one
                    continue
                found.append(f"load failed: {url}: {params.get('errorText')} {params.get('blockedReason') or ''}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
            elif method == "Runtime.consoleAPICalled" and params["type"] == "error":
                found.append(f"console: {params['args']}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
        return found

    def text(self) -> str:
        return self.call("Runtime.evaluate", expression="document.body.innerText", returnByValue=True)["result"][
            "value"
        ]

    def screenshot(self, path: Path, selector: str | None = None) -> None:
        """A PNG of the viewport, scrolled to `selector` first when given."""
        if selector is not None:
            self.call("Runtime.evaluate", expression=f"document.querySelector({json.dumps(selector)}).scrollIntoView()")
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        self.stack.close()
        self.process.terminate()
        self.process.wait(30)


@contextlib.contextmanager
def serving(directory: Path, headers: dict[str, str] | None = None):
    """`directory` over HTTP on loopback, every answer with `headers` (e.g. Jenkins' CSP); yields the URL."""
    import http.server
    import threading
    from functools import partial

    class Handler(http.server.SimpleHTTPRequestHandler):
        def end_headers(self) -> None:
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            super().end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
