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
import sys
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


@pytest.fixture(scope="module")
def browser():
    """One headless chromium for the file; each test opens its own context (no shared state)."""
    if not (CHROMIUM and Path(CHROMIUM).exists()):
        pytest.skip("Debian chromium not installed (make test installs it)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


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


def test_make_lab_opens_start_here(lab_server, browser):
    url, tmp = lab_server
    assert "00_start_here.ipynb" in url or "/lab" in url
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.goto(url, timeout=90_000)
        page.wait_for_selector(".jp-Notebook", timeout=90_000)
        tab = page.locator(".lm-TabBar-tab.jp-mod-current").first.inner_text(timeout=30_000)
        assert "00_start_here" in tab
        page.locator(".jp-RenderedMarkdown h1", has_text="Start here").first.wait_for(timeout=60_000)
        page.screenshot(path=str(tmp / "start_here.png"))
    finally:
        context.close()


# ---------------------------------------------------------------------------------------
# every notebook, run all in a real browser

NOTEBOOK_FILES = sorted((REPO / "notebooks").glob("*.ipynb"))
SCREENSHOTS = REPO / "docs" / "screenshots"
# the main widget of a notebook: how to change it (playwright actions on its output area)
WIDGETS = {
    "01_ringback_amr_playback": "select_multiple",
    "04_codec_negotiation": "codec_prefs",
}


def _port_in(first: int, last: int) -> int:
    for port in range(first, last + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return _free_port()


def _committed_media(path: Path) -> tuple[int, int, int]:
    """(figures, audio players, widgets) in the notebook's committed outputs: what the
    browser must show."""
    import json
    imgs = auds = widgets = 0
    for cell in json.loads(path.read_text())["cells"]:
        for out in cell.get("outputs", []):
            d = out.get("data", {})
            imgs += "image/png" in d
            auds += "".join(d.get("text/html", "")).count("<audio")
            widgets += "application/vnd.jupyter.widget-view+json" in d
    return imgs, auds, widgets


@pytest.fixture(scope="module")
def lab_notebooks(tmp_path_factory):
    """JupyterLab on loopback over a copy of notebooks/ (the committed files are never
    saved to), windowing off (every cell in the DOM) and autosave off."""
    if not (CHROMIUM and Path(CHROMIUM).exists()):
        pytest.skip("Debian chromium not installed (tools/setup.sh installs it)")
    jupyter = Path(os.environ.get("VIRTUAL_ENV", Path(sys.executable).parent.parent)) / "bin" / "jupyter"
    if not jupyter.exists():
        jupyter = Path(sys.executable).parent / "jupyter"
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "notebooks"
    shutil.copytree(REPO / "notebooks", root)
    settings = tmp / "settings"
    for plugin, values in {"notebook-extension/tracker": {"windowingMode": "none"},
                           "docmanager-extension/plugin": {"autosave": False}}.items():
        f = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(__import__("json").dumps(values))
    first, _, last = os.environ.get("LABKIT_TEST_PORTS", "44000-44999").partition("-")
    port, token = _port_in(int(first), int(last or first)), "labkit-browser-test"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp / "rt"), "JUPYTER_CONFIG_DIR": str(tmp / "cfg"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "ws"), "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    log = tmp / "lab.log"
    cmd = [str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while f":{port}/" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", token
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_idle(page, timeout_ms: int = 120_000) -> None:
    page.wait_for_function("() => (document.querySelector('#jp-main-statusbar') || {innerText: ''})"
                           ".innerText.includes('Idle')", timeout=timeout_ms)


def _run_all(page, n_code: int, timeout_s: float = 300) -> None:
    """Run all cells (Run menu), once more if nothing started; wait until every code cell
    has an execution count."""
    deadline = time.monotonic() + timeout_s
    for attempt in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        started = time.monotonic() + 20
        while time.monotonic() < deadline:
            prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
            done = [p for p in prompts if re.match(r"\[\d+\]", p.strip())]
            if len(done) == n_code and not any("*" in p for p in prompts):
                return
            if not done and not any("*" in p for p in prompts) and time.monotonic() > started:
                break  # the click came too early: nothing runs; try again
            time.sleep(0.25)
    pytest.fail(f"run all did not finish in {timeout_s} s")


def _drive(page, kind: str):
    """Change the notebook's main widget; return its output area before and after."""
    if kind == "select_multiple":
        area = page.locator(".jp-OutputArea-output", has=page.locator("select[multiple]")).first
        before = area.inner_html()
        select = area.locator("select[multiple]").first
        options = select.locator("option").all_inner_texts()
        chosen = select.evaluate("s => Array.from(s.selectedOptions).map(o => o.text)")
        other = next(o for o in options if o not in chosen)
        select.select_option(label=other)
    else:
        area = page.locator(".jp-OutputArea-output", has=page.locator("input[type=text]")).first
        before = area.inner_html()
        box = area.locator("input[type=text]").first
        box.fill(box.input_value() + ",GSM")
        box.press("Enter")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and area.inner_html() == before:
        time.sleep(0.5)
    return before, area.inner_html()


def _small_png(raw: bytes, path: Path) -> None:
    from PIL import Image
    import io
    img = Image.open(io.BytesIO(raw)).convert("RGB")
    img.thumbnail((900, 900))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.quantize(colors=64).save(path, optimize=True)


def _all_images_painted(page, timeout_ms: int = 60_000) -> None:
    """Wait until every figure of the page is decoded (what the screenshot must show)."""
    page.wait_for_function("""() => Array.from(document.querySelectorAll('.jp-OutputArea-output img'))
        .every(i => i.complete && i.naturalWidth > 0)""", timeout=timeout_ms)


@pytest.mark.parametrize("nb", NOTEBOOK_FILES, ids=[p.stem for p in NOTEBOOK_FILES])
def test_notebook_runs_in_the_browser(lab_notebooks, browser, nb, tmp_path):
    import json

    base, token = lab_notebooks
    base_tmp = tmp_path
    n_code = sum(c["cell_type"] == "code" for c in json.loads(nb.read_text())["cells"])
    figures, audio, widgets = _committed_media(nb)
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        console = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        # a workspace of its own, reset: no tab of an earlier notebook (whose kernel is
        # gone) comes back with a dialog in front of the menu
        page.goto(f"{base}/lab/workspaces/t{nb.stem[:2]}/tree/{nb.name}?reset&token={token}",
                  timeout=90_000)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        _wait_idle(page)
        if widgets:
            time.sleep(2)  # the widget manager registers its comm target after idle
        _run_all(page, n_code)
        errors = [t for t in page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        ).all_inner_texts() if "Traceback" in t or "Error" in t.split("\n")[0]]
        assert errors == [], errors[:1]
        assert page.locator(".jp-OutputArea-output img").count() >= figures
        assert page.locator(".jp-OutputArea-output audio").count() >= audio
        kind = WIDGETS.get(nb.stem)
        if kind:
            before, after = _drive(page, kind)
            assert after != before, f"{nb.stem}: the widget's output did not change"
            area = page.locator(".jp-OutputArea-output", has=page.locator(
                "select[multiple], input[type=text]")).first
            area.locator("img").first.wait_for(timeout=60_000)  # its figure redrawn
            area.evaluate("e => e.scrollIntoView({block: 'start'})")
            page.wait_for_function("""(e) => Array.from(e.querySelectorAll('img'))
                .every(i => i.complete && i.naturalWidth > 0)""", arg=area.element_handle(),
                timeout=60_000)
        else:
            page.locator(".jp-Notebook .jp-Cell").first.scroll_into_view_if_needed()
        _wait_idle(page)
        _all_images_painted(page)   # headless chromium decodes big PNGs late
        # committed screenshots change only on request (a test run leaves the tree clean)
        shots = SCREENSHOTS if os.environ.get("LABKIT_UPDATE_SCREENSHOTS") else base_tmp
        _small_png(page.screenshot(), shots / f"{nb.stem[:2]}.png")
        assert (shots / f"{nb.stem[:2]}.png").stat().st_size < 200_000
    finally:
        debug = os.environ.get("LABKIT_BROWSER_DEBUG")
        if debug:  # a directory to keep the page, its console and a screenshot
            page.screenshot(path=f"{debug}/debug_{nb.stem[:2]}.png", full_page=True)
            Path(f"{debug}/debug_{nb.stem[:2]}.html").write_text(page.content())
            Path(f"{debug}/debug_{nb.stem[:2]}.log").write_text("\n".join(console))
        context.close()
        _shutdown_kernels(base, token)


def _shutdown_kernels(base: str, token: str) -> None:
    """Stop the kernels this test started (through the server's REST API)."""
    import json
    import urllib.request
    head = {"Authorization": f"token {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/kernels", headers=head)) as r:
        kernels = json.load(r)
    for k in kernels:
        urllib.request.urlopen(urllib.request.Request(f"{base}/api/kernels/{k['id']}",
                                                      headers=head, method="DELETE"))
