"""The kit in a real browser: JupyterLab runs a notebook in Debian's Chromium, driven by Playwright."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import need_program

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.slow]

ARTIFACTS = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "artifacts")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-quic",
]
CELLS = [
    "import kit\nfrom celery import Celery\napp = Celery('browser')\n"
    "cluster = kit.LocalCluster(app, workers=2)\ncluster",
    "kit.blueprint_graph(app)",
    "dash = kit.Dashboard(cluster)\ndash",
]


def chromium():
    return need_program(
        "chromium", lambda: shutil.which("chromium") or shutil.which("chromium-browser")
    )


def write_notebook(path):
    cells = [
        {"cell_type": "code", "metadata": {}, "source": src, "outputs": [], "execution_count": None}
        for src in CELLS
    ]
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))


@pytest.fixture
def lab(tmp_path, redis_server):
    write_notebook(tmp_path / "browser.ipynb")
    port = free_port()
    token = secrets.token_hex(16)
    config = tmp_path / "jupyter-config"
    (config / "labconfig").mkdir(parents=True)  # no "Jupyter news?" prompt over the page
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config))
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp_path}",
    ]
    log = open(tmp_path / "lab.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, f"{url}/api/status?token={token}", tmp_path / "lab.log")
        yield url, token
    finally:
        stop(proc)
        log.close()


def free_port():
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(proc, status_url, log, timeout=180):
    """Wait until JupyterLab's status URL answers; fail with its log's tail if it exits or never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(status_url, timeout=5)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)


def stop(proc, timeout=30):
    """Terminate a server process, killing it if it does not exit within `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def plotted_points(page):
    """Items the timeline view (kit/widgets/timeline_view.js) drew: it keeps the count in data-items."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.kit-tl'))
        .map(t => Number(t.dataset.items || 0)).reduce((a, b) => a + b, 0)""")


#: True when the text of the elements matching a selector matches a regular expression: arg [selector, regex].
MATCHES = """([sel, re]) => new RegExp(re).test(
    Array.from(document.querySelectorAll(sel)).map(e => e.textContent).join(' | '))"""
SVG = ".jupyter-widgets svg text"


LAST_ACTIVE = """() => { const cells = document.querySelectorAll('.jp-Notebook .jp-Cell');
    return cells.length > 0 && cells[cells.length - 1].classList.contains('jp-mod-active'); }"""


KILL_ENABLED = """() => Array.from(document.querySelectorAll('.jupyter-widgets button'))
    .some(b => b.textContent.includes('Kill') && !b.disabled)"""


def open_notebook(page, url, token, path):
    """Open a notebook and wait until its kernel is idle (answering a kernel dialog if one shows)."""
    page.goto(f"{url}/lab/tree/{path}?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    select = page.locator(".jp-Dialog button", has_text="Select")
    try:  # JupyterLab may ask which kernel to start
        select.wait_for(timeout=10_000)
        select.click()
    except Exception:
        pass
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)


def select_last_cell(page):
    """Scroll to the end of the notebook and select its last cell (until JupyterLab marks it active).

    Off-screen cells are laid out as they scroll into view, so the last cell can move between
    scrolling and clicking: scroll and click again until the click lands."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(6):
        page.evaluate(
            f"() => {{ const s = document.querySelector('{SCROLLER}'); s.scrollTop = s.scrollHeight; }}"
        )
        time.sleep(1)
        page.locator(".jp-Notebook .jp-Cell").last.locator(".jp-InputPrompt").click(force=True)
        try:
            page.wait_for_function(LAST_ACTIVE, timeout=5_000)
            return
        except PlaywrightTimeout:  # the click missed: scroll and click again
            continue
    raise AssertionError("could not select the notebook's last cell after 6 clicks")


def run_new_cell(page, source):
    """Add a code cell under the last one, type `source` into it and run it (as a person would)."""
    select_last_cell(page)
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type(source)
    page.keyboard.press("Shift+Enter")


def widget_text(page, selector):
    return page.evaluate(
        "(sel) => Array.from(document.querySelectorAll(sel)).map(e => e.textContent).join(' | ')",
        selector,
    )


def test_notebook_graph_dashboard_and_timeline_in_chromium(lab):
    from playwright.sync_api import sync_playwright

    url, token = lab
    os.makedirs(ARTIFACTS, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(120_000)  # a busy 2-core machine renders slowly
        try:
            open_notebook(page, url, token, "browser.ipynb")
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()

            graph = page.wait_for_selector(
                ".jp-RenderedSVG img, .jp-RenderedSVG svg", timeout=180_000
            )
            assert graph.bounding_box()["width"] > 200  # the blueprint graph rendered

            card = page.wait_for_selector(".jupyter-widgets .kit-card", timeout=180_000)
            page.wait_for_function(
                MATCHES, arg=[".kit-card", r"\bup\b[\s\S]*\bup\b"], timeout=120_000
            )
            assert (
                "w1@" in card.text_content() and "w2@" in card.text_content()
            )  # the card lists the workers

            gossip_tab = page.locator(".jupyter-widgets .lm-TabBar-tab", has_text="Gossip")
            gossip_tab.wait_for(timeout=180_000)  # the dashboard rendered
            gossip_tab.click(force=True, no_wait_after=True, timeout=120_000)
            kill = page.locator(".jupyter-widgets button", has_text="Kill")
            kill.wait_for(timeout=60_000)
            page.wait_for_function(
                """() => Array.from(document.querySelectorAll('.jupyter-widgets select'))
                .some(s => s.options.length >= 2)""",
                timeout=60_000,
            )
            page.locator(".jupyter-widgets button", has_text="Add worker").click(
                force=True, no_wait_after=True, timeout=120_000
            )  # its peers see node_join: every first worker reports a size, so each has a line
            page.wait_for_function(
                MATCHES, arg=[".jupyter-widgets select option", "w3@"], timeout=120_000
            )
            page.wait_for_selector(".jupyter-widgets :text('node_join')", timeout=120_000)
            page.wait_for_function(
                MATCHES, arg=[SVG, r"w1@[^:]*: \d"], timeout=120_000
            )  # w1's line
            # buttons are disabled while an action runs: wait until Add has finished, or the click is lost
            page.wait_for_selector(".jupyter-widgets :text('started w3@')", timeout=120_000)
            page.wait_for_function(KILL_ENABLED, timeout=120_000)
            kill.click(force=True, no_wait_after=True, timeout=120_000)  # the dropdown's first: w1
            page.wait_for_selector(".jupyter-widgets :text('node_lost')", timeout=120_000)
            # the chart keeps the lost worker's line, marked lost
            page.wait_for_function(MATCHES, arg=[SVG, r"w1@[^:]*: lost at"], timeout=120_000)
            page.screenshot(path=os.path.join(ARTIFACTS, "browser-after-kill.png"))

            page.locator(".jupyter-widgets .lm-TabBar-tab", has_text="Timeline").click(
                force=True, no_wait_after=True, timeout=120_000
            )
            page.wait_for_function(
                "() => document.querySelectorAll('.kit-tl canvas').length > 0", timeout=60_000
            )
            page.locator(".kit-tl-periodic").click(force=True, no_wait_after=True, timeout=60_000)
            before = plotted_points(
                page
            )  # Celery's heartbeat and gossip ticks, shown by the toggle, keep coming
            deadline = time.monotonic() + 60
            after = before
            while after <= before and time.monotonic() < deadline:
                time.sleep(1)
                after = plotted_points(page)
            assert after > before, "the timeline did not update live"

            run_new_cell(page, "cluster.close()")
            page.wait_for_function(
                MATCHES,
                arg=[".jupyter-widgets .widget-html-content", r"closed at"],
                timeout=120_000,
            )
            header = widget_text(page, ".jupyter-widgets .widget-html-content")
            assert "actions disabled" in header and "unreachable" not in header
            buttons = page.locator(".jupyter-widgets .widget-tab button.jupyter-button")
            assert buttons.count() > 3 and all(
                buttons.nth(i).is_disabled() for i in range(buttons.count())
            )
            page.wait_for_function(
                "() => document.querySelector('.kit-tl')?.dataset.frozen === '1'", timeout=60_000
            )
            page.wait_for_function(
                "() => /closed/.test(document.querySelector('.kit-card')?.textContent || '')",
                timeout=60_000,
            )  # the card too
        finally:
            page.screenshot(path=os.path.join(ARTIFACTS, "browser.png"), full_page=True)
            browser.close()


NOTEBOOKS = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "notebooks")
#: Notebooks a newcomer meets first, screenshotted after Run All, after a kill and after close.
SCREENSHOTS = [
    "00_check_your_setup",
    "01_tour_the_blueprints",
    "03_schedule_with_the_timer",
    "06_watch_gossip",
]
BUSY = """() => Array.from(document.querySelectorAll('.jp-InputPrompt'))
    .some(p => p.textContent.includes('*'))"""
#: How many cells show an execution count ("[3]:").
RAN = """() => Array.from(document.querySelectorAll('.jp-InputPrompt'))
    .filter(p => /\\[\\d+\\]/.test(p.textContent)).length"""
SCROLLER = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer"


def wait_until_done(page, timeout=300):
    """Until no cell is queued or running (the prompts lose their `[*]`) for a second."""
    deadline, quiet = time.monotonic() + timeout, 0
    while quiet < 2:
        assert time.monotonic() < deadline, "the notebook's cells did not finish"
        quiet = 0 if page.evaluate(BUSY) else quiet + 1
        time.sleep(0.5)


def screens(page, stem, most=10):
    """Screenshots of the notebook from top to bottom, a screen at a time: artifacts/<stem>-NN.png."""
    page.evaluate(f"() => document.querySelector('{SCROLLER}').scrollTop = 0")
    time.sleep(1)
    for i in range(most):
        page.screenshot(path=os.path.join(ARTIFACTS, "screens", f"{stem}-{i:02d}.png"))
        moved = page.evaluate(
            f"""() => {{ const s = document.querySelector('{SCROLLER}'), top = s.scrollTop;
            s.scrollTop = top + s.clientHeight - 80; return s.scrollTop > top; }}"""
        )
        if not moved:
            return
        time.sleep(0.8)


@pytest.mark.parametrize("name", SCREENSHOTS)
def test_notebook_screenshots_after_run_all_kill_and_close(lab, name, tmp_path):
    """Runs a notebook up to its closing cell as a person would, then kills a worker, then closes."""
    from playwright.sync_api import sync_playwright

    url, token = lab
    root = tmp_path  # the lab fixture serves tmp_path
    shutil.copy(os.path.join(NOTEBOOKS, f"{name}.ipynb"), root / f"{name}.ipynb")
    os.makedirs(os.path.join(ARTIFACTS, "screens"), exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(120_000)
        try:
            open_notebook(page, url, token, f"{name}.ipynb")
            select_last_cell(page)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            above = page.get_by_role("menuitem", name="Run All Above Selected Cell")
            assert above.is_enabled(), "the last cell is not selected: nothing would run"
            above.click()
            time.sleep(3)
            wait_until_done(page)
            ran = page.evaluate(RAN)
            assert ran >= 4, f"only {ran} cells ran"
            errors = page.locator(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
            )
            assert errors.count() == 0, errors.first.text_content()
            screens(page, f"{name}-1-run-all")
            run_new_cell(
                page, "cluster.kill_worker(cluster.workers[0]); import time; time.sleep(3)"
            )
            time.sleep(2)
            wait_until_done(page)
            screens(page, f"{name}-2-after-kill")
            run_new_cell(page, "cluster.close()")
            time.sleep(2)
            wait_until_done(page)
            time.sleep(3)  # the widgets' last updates
            assert errors.count() == 0, errors.first.text_content()
            screens(page, f"{name}-3-after-close")
        finally:
            browser.close()


MANY = """import time
from kit.events.feed import EventFeed
from kit.view import ClusterView
from kit.widgets.timeline import Timeline
names = [f"w{i}@lab" for i in range(1, 61)]
class Fake(ClusterView):  # a view whose feed never connects: events are pushed below
    state, closed, started_at = "offline", False, time.time() - 30
    events, workers = EventFeed("redis://127.0.0.1:1/0"), names
    describe, close = (lambda self: "offline"), (lambda self: None)
fake = Fake()
tl = Timeline(fake)
for i, name in enumerate(names):
    fake.events.add({"type": "kit-timer", "hostname": name, "timestamp": time.time() - 20 + i * 0.3,
                     "kind": "fire", "callback": "lab.Step.tick", "duration": 0.001})
tl"""
LANES = "() => { const t = document.querySelector('.kit-tl'); return t ? Number(t.dataset.lanes) : -1; }"
CANVAS_HEIGHT = "() => document.querySelector('.kit-tl-canvas').getBoundingClientRect().height"


def test_timeline_of_sixty_workers_collapses_scrolls_and_filters(lab, tmp_path):
    """60 lanes: compact and scrolling instead of 6,000 px tall; the filter box keeps the lanes it names."""
    from playwright.sync_api import sync_playwright

    url, token = lab
    cells = [
        {
            "cell_type": "code",
            "metadata": {},
            "source": MANY,
            "outputs": [],
            "execution_count": None,
        }
    ]
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "many.ipynb").write_text(json.dumps(nb))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(120_000)
        try:
            open_notebook(page, url, token, "many.ipynb")
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()
            page.wait_for_function(f"() => ({LANES})() === 60", timeout=120_000)
            assert page.evaluate(CANVAS_HEIGHT) == 60 * 34  # compact lanes
            scroll = page.evaluate("() => document.querySelector('.kit-tl-scroll').clientHeight")
            assert scroll <= 560, f"the lanes scroll inside {scroll} px, not the page"
            assert "60 workers" in page.locator(".kit-tl-head").text_content()
            page.locator(".kit-tl-filter").fill("w5")
            page.wait_for_function(f"() => ({LANES})() === 11", timeout=30_000)  # w5, w50..w59
            assert "11 of 60 workers" in page.locator(".kit-tl-head").text_content()
            page.locator(".kit-tl-filter").fill("w60@")
            page.wait_for_function(f"() => ({LANES})() === 1", timeout=30_000)
            assert page.evaluate(CANVAS_HEIGHT) == 100  # one lane: full height again
            page.screenshot(path=os.path.join(ARTIFACTS, "browser-many-workers.png"))
        finally:
            browser.close()
