"""A newcomer's path: `make lab` prints a URL and JupyterLab opens 00_start_here.

Runs the same command the README gives, on a free port, and drives Debian's chromium
headless with Playwright (never `playwright install`: no browser downloads here).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") and "/usr/lib/chromium/chromium"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run"]

pytestmark = pytest.mark.requires_chromium


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_url(proc: subprocess.Popen, log: Path, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        found = re.search(r"(http://127\.0\.0\.1:\d+/lab\S*\?token=\w+)", text)
        if found:
            return found.group(1)
        if proc.poll() is not None:
            pytest.fail(f"make lab exited with {proc.returncode}:\n{text[-3000:]}")
        time.sleep(0.5)
    pytest.fail(f"make lab printed no URL in {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture()
def lab_server(tmp_path):
    if not (CHROMIUM and Path(CHROMIUM).exists()):
        pytest.skip("Debian chromium not installed (make test installs it)")
    port = _free_port()
    log = tmp_path / "lab.log"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws")}
    with open(log, "w") as fh:
        proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"PORT={port}"], cwd=REPO,
                                stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        yield _wait_for_url(proc, log), tmp_path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # our own process group only
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_make_lab_opens_start_here(lab_server):
    from playwright.sync_api import sync_playwright

    url, tmp = lab_server
    assert "00_start_here.ipynb" in url or "/lab" in url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url, timeout=90_000)
            page.wait_for_selector(".jp-Notebook", timeout=90_000)
            tab = page.locator(".lm-TabBar-tab.jp-mod-current").first.inner_text(timeout=30_000)
            assert "00_start_here" in tab
            page.locator(".jp-RenderedMarkdown h1", has_text="Start here").first.wait_for(timeout=60_000)
            page.screenshot(path=str(tmp / "start_here.png"))
        finally:
            browser.close()
