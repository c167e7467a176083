"""Headless Chromium driven over the DevTools protocol, for the page tests.

Chromium's --remote-debugging-pipe speaks the protocol on its fds 3 (in)
and 4 (out), one JSON message per NUL-terminated record: no websocket and
no library beyond Python's. Console errors, uncaught exceptions and failed
loads are collected as they come, so a test can say the page had none.
"""
import json
import os
import select
import subprocess
import tempfile
import time


class Browser:
    def __init__(self, chromium="chromium", width=1280, height=900):
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        self._profile = tempfile.mkdtemp(prefix="pprofd-chromium.")

        def fds():
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking",
             f"--user-data-dir={self._profile}", f"--window-size={width},{height}",
             "about:blank"],
            pass_fds=(3, 4), preexec_fn=fds,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.errors = []   # what the page's console and loads said was wrong
        self.dialogs = []  # prompts the page opened, answered by prompt_answer
        self.prompt_answer = ""
        self.loaded = 0
        self.session = None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable")

    def _send(self, msg):
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._to_child, data):]

    def _recv(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.time()
            if left <= 0 or not select.select([self._from_child], [], [], left)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise EOFError("chromium went away")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def _event(self, m):
        method, p = m.get("method"), m.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.errors.append("exception: " + d.get("exception", {}).get(
                "description", d.get("text", "")))
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append("console.error: " + " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
            self.errors.append("log: %s %s" % (p["entry"]["text"], p["entry"].get("url", "")))
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            self.errors.append("load failed: " + p.get("errorText", ""))
        elif method == "Page.loadEventFired":
            self.loaded += 1
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append(p.get("message", ""))
            self._send({"id": self._next(), "method": "Page.handleJavaScriptDialog",
                        "sessionId": self.session,
                        "params": {"accept": True, "promptText": self.prompt_answer}})

    def _next(self):
        self._id += 1
        return self._id

    def call(self, method, timeout=30, **params):
        i = self._next()
        msg = {"id": i, "method": method, "params": params}
        if self.session:
            msg["sessionId"] = self.session
        self._send(msg)
        deadline = time.time() + timeout
        while True:
            m = self._recv(deadline)
            if m.get("id") == i:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self._event(m)

    def pump(self, seconds):
        """Takes events for a while (loads, console messages)."""
        deadline = time.time() + seconds
        try:
            while True:
                self._event(self._recv(deadline))
        except TimeoutError:
            pass

    def eval(self, expr, timeout=30):
        r = self.call("Runtime.evaluate", timeout=timeout, expression=expr,
                      returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expr[:60]}...: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expr, timeout=30):
        """Polls expr until it is true-ish; returns its value."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = self.eval(expr)
            if v:
                return v
            self.pump(0.2)
        raise TimeoutError(f"never true: {expr}")

    def navigate(self, url, timeout=30):
        before = self.loaded
        self.call("Page.navigate", url=url)
        deadline = time.time() + timeout
        while self.loaded == before:
            self._event(self._recv(deadline))

    def screenshot(self, path):
        import base64
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self._send({"id": self._next(), "method": "Browser.close"})
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(["rm", "-rf", self._profile])
