"""scripts/play.py --viz viser: the policy's episode served to a real browser (headless Chromium, WebGL on CPU through
SwiftShader), which shows the robot in 3D and the recorded reference | agent | masks frame beside it."""

import base64
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import numpy as np
import pytest
from script_helpers import run_in_process, script_path

PLAY = script_path("play.py")
SIZE = (640, 400)


@pytest.fixture(scope="module")
def chromium() -> str:
    """A headless Chromium: CI installs one (.ci/run) and fails without it; elsewhere the test skips, saying why."""
    for name in ("chromium-headless-shell", "chromium"):
        if path := shutil.which(name):
            return path
    if os.environ.get("CI"):
        pytest.fail("No Chromium found in CI: .ci/run installs chromium-headless-shell (apt-get) before the tests.")
    pytest.skip("No Chromium here: apt-get install chromium-headless-shell (CI installs it) to run the browser test.")


@pytest.fixture(scope="module")
def checkpoint_dir(smoke_run, tmp_path_factory) -> str:
    """The suite's cpu-smoke run (conftest's smoke_run) copied without its outputs: the viewer needs a checkpoint, not
    a trained one, and the play/ files this test checks must be its own."""
    cwd = tmp_path_factory.mktemp("viser")
    run_cwd, run_dir = smoke_run
    shutil.copytree(run_dir, cwd / os.path.relpath(run_dir, run_cwd), ignore=shutil.ignore_patterns("play", "videos"))
    return str(cwd)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


class DevToolsError(RuntimeError):
    """Chromium refused a DevTools call (e.g. while a page is still attaching after navigation)."""


class Browser:
    """Headless Chromium driven over the DevTools protocol: open a page, screenshot it, evaluate JavaScript."""

    def __init__(self, executable: str, size=SIZE):
        from websockets.sync.client import connect  # viser's own dependency

        self.profile = tempfile.TemporaryDirectory()
        self.proc = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--remote-debugging-port=0", f"--user-data-dir={self.profile.name}",
             "--enable-unsafe-swiftshader", "--use-angle=swiftshader", f"--window-size={size[0]},{size[1]}",
             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        for line in self.proc.stderr:  # "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/..."
            if match := re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line):
                break
        else:
            raise RuntimeError(f"{executable} did not start its DevTools server")
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # keep its log pipe drained
        pages = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/json/list").read())
        self.ws = connect(next(p for p in pages if p["type"] == "page")["webSocketDebuggerUrl"], max_size=None)
        self.calls = 0

    def call(self, method: str, **params) -> dict:
        self.calls += 1
        self.ws.send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while (reply := json.loads(self.ws.recv())).get("id") != self.calls:
            pass  # events
        if "error" in reply:
            raise DevToolsError(reply["error"].get("message", str(reply)))
        return reply["result"]

    def screenshot(self) -> np.ndarray:
        import cv2

        png = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        return cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def close(self) -> None:
        self.ws.close()
        os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the launcher script, the browser and its children
        self.proc.wait(timeout=30)
        self.profile.cleanup()


def robot_pixels(image: np.ndarray) -> float:
    """Fraction of the view's middle that is robot-dark: the H1 meshes render dark grey (~60-100), everything else
    there (ground ~220, its shadow ~190, sky 255) is light, and a blank or unconnected page is white."""
    h, w = image.shape[:2]
    middle = image[int(0.2 * h):int(0.8 * h), int(0.25 * w):int(0.65 * w)]  # the side panel sits top-right
    return float((middle.mean(axis=2) < 120).mean())


PANEL_IMAGE = ("[...document.images].some(i => i.complete && i.naturalWidth >= 256) && "
               "document.body.innerText.includes('reference | agent | masks')")


def test_play_viser_serves_the_robot_and_reference_to_a_browser(checkpoint_dir, chromium, tmp_path):
    port = free_port()
    play = subprocess.Popen(
        [sys.executable, PLAY, "--task", "NIL-H1-Walk", "--viz", "viser", "--viz_port", str(port), "--steps", "20",
         "--loops", "1000"],
        cwd=checkpoint_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # Ctrl-C as in a terminal
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(play.stdout), daemon=True)
    reader.start()
    try:
        url = f"http://localhost:{port}"
        deadline = time.monotonic() + 300
        while not any(line.startswith(f"[INFO] Viewer: {url}") for line in out):
            assert play.poll() is None and time.monotonic() < deadline, "".join(out)[-3000:]
            time.sleep(0.5)
        run_dir = glob.glob(os.path.join(checkpoint_dir, "logs", "bro", "nil_h1_walk", "*"))[-1]
        assert os.path.getsize(os.path.join(run_dir, "play", "side_by_side.mp4")) > 1000  # the usual outputs, once
        assert os.path.isfile(os.path.join(run_dir, "play", "rewards.png"))

        browser = Browser(chromium)
        try:
            browser.call("Page.navigate", url=url)
            deadline, shots = time.monotonic() + 240, 0  # SwiftShader on a busy CPU: up to a minute a frame
            while True:  # the page loads, connects and receives the scene: poll until the robot is drawn
                try:
                    image, panel, shots = browser.screenshot(), browser.evaluate(PANEL_IMAGE), shots + 1
                except DevToolsError as err:  # "Not attached to an active page": still navigating
                    assert time.monotonic() < deadline, f"the browser never showed the page: {err}"
                    time.sleep(1.0)
                    continue
                if (robot_pixels(image) > 0.01 and panel) or time.monotonic() > deadline:
                    break
                time.sleep(1.0)
        finally:
            browser.close()
        import cv2

        cv2.imwrite(str(tmp_path / "viser.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))  # to look at on failure
        assert robot_pixels(image) > 0.01, f"no robot in the view after {shots} screenshots: {tmp_path / 'viser.png'}"
        assert panel, f"no reference | agent | masks image in viser's panel: {tmp_path / 'viser.png'}"
        assert play.poll() is None, "".join(out)[-3000:]

        deadline = time.monotonic() + 180  # it loops: a played episode before Ctrl-C (a loaded CPU is slow to end one)
        while not any(re.search(r"\[INFO\] Viewer: episode \d+ played", line) for line in out):
            assert play.poll() is None and time.monotonic() < deadline, "".join(out)[-3000:]
            time.sleep(0.5)
        play.send_signal(signal.SIGINT)  # Ctrl-C: stops serving, exits cleanly
        assert play.wait(timeout=180) == 0, "".join(out)[-3000:]  # a loaded CPU renders slowly: let it finish
    finally:
        if play.poll() is None:
            play.kill()
    reader.join(timeout=10)
    text = "".join(out)
    assert "[INFO] Viewer stopped" in text and "Side-by-side video:" in text
    assert re.search(r"\[INFO\] Viewer: episode \d+ played", text), text[-3000:]  # it loops


def test_play_viser_says_when_viser_is_missing_or_the_port_is_taken(tmp_path, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "viser", None)  # import viser fails, as in an environment without it
        result = run_in_process(tmp_path, "play.py", ["--task", "NIL-H1-Walk", "--viz", "viser"])
    assert result.returncode == 2
    assert "--viz viser needs the viser package" in result.stderr and "./isaaclab.sh --install" in result.stderr

    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_in_process(tmp_path, "play.py", ["--task", "NIL-H1-Walk", "--viz", "viser", "--viz_port", str(port)])
    assert result.returncode == 2
    assert f"cannot serve on port {port}" in result.stderr and "--viz_port" in result.stderr
