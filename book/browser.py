"""Read the built book in headless Chromium, as a learner would, and say what is wrong on each page.

    python book/browser.py build/book-quick   # every page; pictures in build/book-quick/screenshots

The site is served from 127.0.0.1 (what `python -m http.server` does) and Chromium is told that no
host name resolves, so a page that needs the network shows it. Chromium is driven through the
Chrome DevTools protocol over a websocket (the `websocket-client` package).
"""
import base64
import contextlib
import functools
import http.server
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

WIDTH = 1280  # CSS pixels: a laptop screen, wide enough for the theme to show its sidebar
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
         f"--window-size={WIDTH},1000",
         # offline: every host name fails to resolve; the site itself is reached by IP address
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
PAGE_SECONDS = 60  # longest a page may take to load, typeset its math and decode its figures
SCREENSHOT_MAX_HEIGHT = 12000  # CSS pixels; the rest of a very long page is left out of its picture

# Runs in the page once it has loaded: waits for MathJax and every image, then reports what a
# reader sees.
INSPECT = """
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await Promise.all([...document.images].map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done);
    img.addEventListener('error', done);
  })));
  const article = document.querySelector('article') || document.body;
  const prose = article.cloneNode(true);
  prose.querySelectorAll('pre, code, script, style, mjx-container, mjx-assistive-mml')
       .forEach(e => e.remove());
  const text = prose.textContent;
  const raw = (text.match(/\\$[^$\\n]+\\$|\\\\\\(|\\\\\\[/g) || []).slice(0, 5);
  const maths = [...article.querySelectorAll('.math')];
  return {
    title: document.title,
    figures: [...article.querySelectorAll('.cell_output img')].map(img => {
      const box = img.getBoundingClientRect();
      return {src: img.getAttribute('src'), natural: [img.naturalWidth, img.naturalHeight],
              shown: [box.width, box.height]};
    }),
    solutions: [...article.querySelectorAll('details.worked-solution')].map(details => ({
      title: details.querySelector('summary').textContent.trim(), open: details.open})),
    headings: [...article.querySelectorAll('h1, h2')].map(h => h.textContent.replace(/#$/, '').trim()),
    outputs: article.querySelectorAll('.cell_output').length,
    math: maths.length,
    math_typeset: maths.filter(e => e.querySelector('mjx-container')).length,
    raw_math: raw,
    downloads: await Promise.all([...article.querySelectorAll('a.download')].map(async a => {
      if (location.protocol === 'file:') { return {href: a.href, status: null, bytes: null}; }
      const response = await fetch(a.href);
      const bytes = (await response.arrayBuffer()).byteLength;
      return {href: a.href, status: response.status, bytes: bytes};
    })),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    height: Math.ceil(document.documentElement.scrollHeight),
  };
})()
"""


def find_chromium():
    """The path of a Chromium (or Chrome) on PATH, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@contextlib.contextmanager
def serving(folder):
    """A static file server for `folder` on 127.0.0.1 (a free port); yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Chromium:
    """One headless Chromium with a fresh profile, and one tab driven over the DevTools protocol."""

    def __init__(self, executable):
        import websocket
        self._profile = tempfile.mkdtemp(prefix="book-chromium-")
        self._process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-port=0",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port = self._wait_for_port()
            listing = urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10)
            page = next(tab for tab in json.loads(listing.read()) if tab["type"] == "page")
            self._socket = websocket.create_connection(
                page["webSocketDebuggerUrl"], timeout=PAGE_SECONDS, suppress_origin=True)
        except BaseException:
            self.close()
            raise
        self._next_id = 0
        self.events = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def _wait_for_port(self):
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self._process.returncode} "
                                   "while starting")
            if port_file.is_file() and port_file.read_text().strip():
                return int(port_file.read_text().split()[0])
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port within 30 s")

    def call(self, method, **params):
        """Send one command; events that arrive meanwhile are kept in `events`. Its result."""
        self._next_id += 1
        self._socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_for(self, method, seconds=PAGE_SECONDS):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if any(event.get("method") == method for event in self.events):
                return
            self.events.append(json.loads(self._socket.recv()))
        raise TimeoutError(f"no {method} within {seconds} s")

    def close(self):
        with contextlib.suppress(Exception):
            self._socket.close()
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    def read(self, url, screenshot=None):
        """Open `url`, wait until it is read, and report what a reader sees and what went wrong."""
        self.events = []
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        seen = self.call("Runtime.evaluate", expression=INSPECT, awaitPromise=True,
                         returnByValue=True, timeout=PAGE_SECONDS * 1000)
        if "exceptionDetails" in seen:
            raise RuntimeError(f"inspecting {url} failed: {seen['exceptionDetails']}")
        report = seen["result"]["value"]
        report["url"] = url
        report["errors"] = self._errors(url)
        if screenshot is not None:
            self._screenshot(report["height"], screenshot)
        return report

    def _errors(self, url):
        """Console errors, uncaught exceptions, failed or refused loads, and requests that left
        the site."""
        site = url.split("/", 3)[:3]
        asked = {event["params"]["requestId"]: event["params"]["request"]["url"]
                 for event in self.events if event.get("method") == "Network.requestWillBeSent"}
        errors = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                words = (arg.get("value", arg.get("description", "")) for arg in params["args"])
                errors.append("console: " + " ".join(map(str, words)))
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                thrown = details.get("exception", {}).get("description", details.get("text", ""))
                errors.append(f"exception: {thrown}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                errors.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
            elif method == "Network.requestWillBeSent":
                target = params["request"]["url"]
                local = target.startswith(("data:", "blob:", "about:"))
                if not (target.split("/", 3)[:3] == site or local):
                    errors.append(f"network: the page asked for {target}")
            elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
                response = params["response"]
                errors.append(f"network: {response['status']} for {response['url']}")
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                failed = asked.get(params["requestId"])
                errors.append(f"network: {params.get('errorText')} for {failed}")
        return errors

    def _screenshot(self, height, path):
        height = max(1, min(height, SCREENSHOT_MAX_HEIGHT))
        # The whole page at once: a window as tall as the page (capped), then a screen's height.
        self.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=height,
                  deviceScaleFactor=1, mobile=False)
        try:
            shot = self.call("Page.captureScreenshot", format="jpeg", quality=70)
        finally:
            self.call("Emulation.clearDeviceMetricsOverride")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(base64.b64decode(shot["data"]))


def read_book(out, executable=None):
    """Open the front page, the timings page and every lesson page of the book built in `out`;
    one report per page (screenshots in `out`/screenshots)."""
    out = Path(out)
    html = out / "html"
    lessons = sorted(f"lessons/{path.name}" for path in (html / "lessons").glob("*.html"))
    pages = ["index.html", "timings.html", *lessons]
    browser = Chromium(executable or find_chromium())
    try:
        with serving(html) as base:
            return [browser.read(base + page, out / "screenshots" / f"{Path(page).stem}.jpg")
                    for page in pages]
    finally:
        browser.close()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else Path("build/book")
    if find_chromium() is None:
        print("book: no chromium on PATH (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    failed = 0
    for report in read_book(out):
        figures = sum(figure["natural"][0] > 0 for figure in report["figures"])
        print(f"{report['url']}: {figures}/{len(report['figures'])} figures drawn, "
              f"{report['math_typeset']}/{report['math']} formulas typeset, "
              f"{len(report['errors'])} errors")
        for error in report["errors"]:
            print("   ", error)
        failed += (bool(report["errors"]) or figures < len(report["figures"])
                   or report["math_typeset"] < report["math"] or bool(report["raw_math"]))
    print(f"screenshots in {out / 'screenshots'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
