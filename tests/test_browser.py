"""The interactives in a real browser: JupyterLab + headless Chromium.

JupyterLab is started on a free local port over a temporary copy of the student notebooks
and opened once in Debian's Chromium (driven by Playwright). Every chapter's notebook is
opened as a tab of that page and executed up to and including its first interactive with a
slider (chapter 2's whole notebook is run with Run All, to the end). A few notebooks run at
once, each with its own kernel, the longest first; the next one opens when one is probed.
Once a notebook's kernel is idle:
  * the widget rendered: no "Error displaying widget", no page errors, a figure is shown;
  * every slider track of that interactive is at least 150 px wide (wide enough to drag);
  * moving the first slider with the keyboard redraws the figure: a new, non-empty image
    of the same size, fully loaded.
Screenshots go to a temporary folder whose path is printed, with a table of when each
notebook opened, was ready and was probed. Without /usr/bin/chromium or the playwright
package the test is skipped, saying how to enable it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from functools import cache
from pathlib import Path

import pytest

from tests.test_device_wiring import LOOPS
from tools.chapters import chapters, release_ipynb

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = Path("/usr/bin/chromium")
FULL_RUN = "ch02_variational_trick"  # the chapter run to the end with Run All
MIN_TRACK_PX = 150
TRAINING_LOOP = re.compile(r"\b(" + "|".join(sorted(LOOPS)) + r")\(")  # the course's loops
CONCURRENT = 3  # notebooks executing at once (each its own kernel)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync",
                 # several notebooks run at once in background tabs: do not throttle them
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows"]


def _playwright():
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: `apt-get install chromium chromium-driver` "
                    "(.ci/run does it in CI) to run the browser test")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is missing: pip install -c constraints.txt playwright")
    return sync_playwright


def _released() -> list[str]:
    """The chapters with a student notebook (all of them, once generated)."""
    return [c for c in chapters() if release_ipynb(c).exists()]


def _with_sliders() -> list[str]:
    """The released chapters that have an interactive with a slider (the review chapter has
    none: it ends with a score card)."""
    return [c for c in _released() if _first_slider_interactive(c, required=False) is not None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab over a copy of notebooks/, exposing the app object to the page."""
    work = tmp_path_factory.mktemp("lab")
    for chapter in _released():
        shutil.copytree(release_ipynb(chapter).parent, work / chapter)
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(work / ".runtime"),
           "JUPYTER_CONFIG_DIR": str(work / ".config"), "LESSONLIB_FAST": "1",
           "OMP_NUM_THREADS": "1",
           "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    settings = work / ".settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)  # no "news" pop-up over the screenshots
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    notebook = work / ".settings" / "@jupyterlab" / "notebook-extension"
    notebook.mkdir(parents=True)  # JupyterLab's lightest rendering: only the cells in view
    (notebook / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "full"}))
    env["JUPYTERLAB_SETTINGS_DIR"] = str(work / ".settings")
    log = (work / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
         f"--ServerApp.root_dir={work}", "--LabApp.expose_app_in_browser=True", *root],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/api/status", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"JupyterLab exited:\n{(work / 'lab.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield base, work
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


PANEL = """(path) => Array.from(window.jupyterapp.shell.widgets('main'))
  .find(w => w.context && w.context.path === path)"""

OPEN = """async (path) => {  // opens the notebook as a tab of the one JupyterLab page
  const w = await window.jupyterapp.commands.execute('docmanager:open',
                                                     {path, factory: 'Notebook'});
  await w.context.ready; return w.id; }"""

KERNEL_READY = f"""(path) => {{ const panel = ({PANEL})(path);
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!(kernel && kernel.status === 'idle' && panel.content.widgets.length > 0); }}"""

KERNEL_IDLE = f"""([path, last]) => {{ const panel = ({PANEL})(path);
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  const cells = panel.content.widgets;
  return cells.slice(0, last < 0 ? cells.length : last + 1)
              .every(c => c.model.type !== 'code' || c.model.executionCount !== null); }}"""

RUN = f"""([path, index]) => {{  // starts the execution and returns at once
  const app = window.jupyterapp, panel = ({PANEL})(path);
  app.shell.activateById(panel.id);  // the notebook commands act on the current notebook
  if (index < 0) {{ app.commands.execute('notebook:run-all-cells'); return true; }}
  panel.content.activeCellIndex = index + 1;  // every cell above it: up to the interactive
  app.commands.execute('notebook:run-all-above');
  return true; }}"""

SHOW = f"""(path) => {{ const panel = ({PANEL})(path);
  window.jupyterapp.shell.activateById(panel.id); return true; }}"""

CLOSE = f"""async (path) => {{ const panel = ({PANEL})(path);
  await panel.sessionContext.shutdown(); panel.dispose(); return true; }}"""

CELL_NODE = f"""async ([path, index]) => {{ const nb = ({PANEL})(path).content;
  await nb.scrollToItem(index, 'start'); return nb.widgets[index].node; }}"""

IMAGE = """(box) => { const img = box.querySelector('.widget-output img');
  return img ? {src: img.src.length + ':' + img.src.slice(-64), complete: img.complete,
                w: img.naturalWidth, h: img.naturalHeight} : null; }"""

IMAGE_READY = f"(b) => {{ const r = ({IMAGE})(b); return !!(r && r.complete && r.w > 0); }}"

IMAGE_CHANGED = (f"([b, old]) => {{ const r = ({IMAGE})(b); return !!(r && r.complete "
                 "&& r.w > 0 && r.src !== old.src); }")


@cache  # asked for at every poll of a running notebook
def _first_slider_interactive(chapter: str, required: bool = True) -> int | None:
    cells = json.loads(release_ipynb(chapter).read_text())["cells"]
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and "interactive(" in source and "Slider(" in source:
            if i + 1 == len(cells):
                raise AssertionError(f"{chapter}: an interactive cannot be the last cell")
            return i
    if required:
        raise AssertionError(f"{chapter} has no interactive with a slider")
    return None


def _path(chapter: str) -> str:
    return f"{chapter}/{chapter}.ipynb"


def _last(chapter: str) -> int:
    """The last cell that must have run before the probe (-1: all of them)."""
    return -1 if chapter == FULL_RUN else _first_slider_interactive(chapter)


def _open_lab(browser, base: str):
    """The one JupyterLab page every notebook opens in (its own workspace, nothing restored)."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.errors = []
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    page.goto(f"{base}/lab/workspaces/browser-test?reset")
    page.wait_for_function("() => !!window.jupyterapp", timeout=120_000, polling=250)
    page.evaluate("async () => { await window.jupyterapp.restored; return true; }")
    # No CSS animation or transition (the editor's blinking cursor, spinners): in a software-
    # rendered page each one repaints continuously, and an idle notebook tab then costs
    # Chromium a sixth of a core; the widgets and figures are drawn the same without them.
    page.add_style_tag(content="*, *::before, *::after { animation: none !important; "
                               "transition: none !important; }")
    return page


def _start(page, chapter: str) -> None:
    """Open the chapter's notebook in a new tab, wait for its kernel, start its execution."""
    page.evaluate(OPEN, _path(chapter))
    page.wait_for_function(KERNEL_READY, arg=_path(chapter), timeout=120_000, polling=250)
    page.evaluate(RUN, [_path(chapter), _last(chapter)])


def _ready(page, chapter: str) -> bool:
    return bool(page.evaluate(KERNEL_IDLE, [_path(chapter), _last(chapter)]))


def _probe(page, chapter: str, shots: Path) -> list[str]:
    """Once the kernel is idle: the interactive's widget, slider tracks and redraw."""
    problems, path = [], _path(chapter)
    index = _first_slider_interactive(chapter)
    page.evaluate(SHOW, path)
    page.wait_for_function(KERNEL_IDLE, arg=[path, _last(chapter)], timeout=300_000,
                           polling=500)
    cell = page.evaluate_handle(CELL_NODE, [path, index]).as_element()
    if "Error displaying widget" in cell.inner_text():
        problems.append("Error displaying widget")
    box = cell.wait_for_selector(".widget-vbox", state="attached", timeout=60_000)
    box.scroll_into_view_if_needed()
    page.wait_for_function(IMAGE_READY, arg=box, timeout=60_000, polling=250)
    page.screenshot(path=str(shots / f"{chapter}-before.png"))
    widths = [t.bounding_box()["width"]
              for t in box.query_selector_all(".widget-slider .slider-container")]
    if not widths:
        problems.append("no slider track rendered")
    if any(w < MIN_TRACK_PX for w in widths):
        problems.append(f"slider tracks narrower than {MIN_TRACK_PX} px: "
                        f"{[round(w) for w in widths]}")
    before = box.evaluate(IMAGE)
    handle = box.query_selector(".widget-slider .noUi-handle")
    value, top = (handle.get_attribute(a) for a in ("aria-valuenow", "aria-valuemax"))
    at_max = value is not None and top is not None and float(value) >= float(top)
    handle.focus()
    page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")  # a slider may start at its max
    try:
        page.wait_for_function(IMAGE_CHANGED, arg=[box, before], timeout=60_000, polling=250)
    except Exception:  # noqa: BLE001  (reported with the screenshot)
        problems.append("the figure did not change after moving a slider with the keyboard")
    page.wait_for_function(KERNEL_IDLE, arg=[path, _last(chapter)], timeout=60_000,
                           polling=250)
    after = box.evaluate(IMAGE)
    if not after or (after["w"], after["h"]) != (before["w"], before["h"]):
        problems.append(f"the redrawn image is {after} instead of {before['w']}x{before['h']}")
    page.screenshot(path=str(shots / f"{chapter}-after.png"))
    return problems


def _cost(chapter: str) -> tuple[int, int]:
    """How much a chapter runs before its interactive can be probed: the training-loop
    calls, then the code cells (the longest start first, so the last to finish is short)."""
    cells = json.loads(release_ipynb(chapter).read_text())["cells"]
    upto = len(cells) if chapter == FULL_RUN else _first_slider_interactive(chapter) + 1
    code = ["".join(c["source"]) for c in cells[:upto] if c["cell_type"] == "code"]
    return sum(len(TRAINING_LOOP.findall(src)) for src in code), len(code)


def test_first_interactive_of_every_chapter_renders_and_responds(lab, tmp_path):
    sync_playwright = _playwright()
    base, _ = lab
    shots = tmp_path / "screenshots"
    shots.mkdir()
    found, timeline, started = {}, [], time.perf_counter()
    todo = sorted(_with_sliders(), key=_cost, reverse=True)
    count = len(todo)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = _open_lab(browser, base)
            running: dict[str, float] = {}  # chapter -> second it was opened
            while todo or running:  # a pool: the next notebook opens when one is probed
                while todo and len(running) < CONCURRENT:
                    chapter = todo.pop(0)
                    running[chapter] = time.perf_counter() - started
                    _start(page, chapter)
                done = [c for c in running if _ready(page, c)]
                if not done:
                    time.sleep(0.5)
                    continue
                for chapter in done:
                    opened, ready = running.pop(chapter), time.perf_counter() - started
                    errors = len(page.errors)
                    try:
                        problems = _probe(page, chapter, shots)
                    except Exception as err:  # noqa: BLE001
                        page.screenshot(path=str(shots / f"{chapter}-error.png"))
                        problems = [f"{type(err).__name__}: {str(err)[:300]}"]
                    problems += [f"page error: {e}" for e in page.errors[errors:]]
                    if problems:
                        found[chapter] = problems
                    page.evaluate(CLOSE, _path(chapter))
                    timeline.append((chapter, opened, ready, time.perf_counter() - started))
            if page.errors:  # raised while another notebook was probed, or in between
                found.setdefault("page", []).extend(page.errors)
        finally:
            browser.close()
    seconds = time.perf_counter() - started
    print(f"\nbrowser test: {count} chapters in {seconds:.0f} s, {CONCURRENT} kernels at a "
          f"time in one JupyterLab page; screenshots in {shots}\n"
          f"{'chapter':24s} {'opened s':>8s} {'ready s':>8s} {'probed s':>8s}")
    for chapter, opened, ready, probed in timeline:
        print(f"{chapter:24s} {opened:8.1f} {ready:8.1f} {probed:8.1f}")
    assert not found, f"screenshots in {shots}:\n" + "\n".join(
        f"{c}: {'; '.join(ps)}" for c, ps in found.items())
