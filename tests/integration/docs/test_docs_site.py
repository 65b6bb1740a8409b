"""The documentation site builds with `mkdocs build --strict` (no broken link, no page left out of the
navigation) and opens offline in headless Chromium: the navigation shows and no resource fails to load.
"""

import base64
import contextlib
import http.server
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from functools import partial
from pathlib import Path

import pytest
from websockets.sync.client import connect

REPO = Path(__file__).resolve().parents[3]
MKDOCS = Path(sys.executable).parent / "mkdocs"
CHROMIUM = shutil.which("chromium")


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
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


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
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.loadingFailed":
                found.append(f"load failed: {params.get('errorText')} {params.get('blockedReason') or ''}")
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

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        self.stack.close()
        self.process.terminate()
        self.process.wait(30)


@pytest.fixture
def browser(tmp_path):
    if CHROMIUM is None:
        pytest.skip("NOT TESTED: Debian's chromium is not installed (.ci/run installs it)")
    opened = Browser(tmp_path / "profile")
    yield opened
    opened.close()


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
