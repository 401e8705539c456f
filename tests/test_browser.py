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

ARTIFACTS = os.path.join(os.path.dirname(__file__), os.pardir, "artifacts")
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
    return need_program("chromium", lambda: shutil.which("chromium") or shutil.which("chromium-browser"))


def write_notebook(path):
    cells = [
        {"cell_type": "code", "metadata": {}, "source": src, "outputs": [], "execution_count": None}
        for src in CELLS
    ]
    nb = {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))


@pytest.fixture
def lab(tmp_path, redis_server):
    write_notebook(tmp_path / "browser.ipynb")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
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
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.3)
    yield url, token
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def plotted_points(page):
    """Items the timeline view (kit/timeline_view.js) drew: it keeps the count in data-items."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.kit-tl'))
        .map(t => Number(t.dataset.items || 0)).reduce((a, b) => a + b, 0)""")


def test_notebook_graph_dashboard_and_timeline_in_chromium(lab):
    from playwright.sync_api import sync_playwright

    url, token = lab
    os.makedirs(ARTIFACTS, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(120_000)  # a busy 2-core machine renders slowly
        try:
            page.goto(f"{url}/lab/tree/browser.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            select = page.locator(".jp-Dialog button", has_text="Select")
            try:  # JupyterLab may ask which kernel to start
                select.wait_for(timeout=10_000)
                select.click()
            except Exception:
                pass
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()

            graph = page.wait_for_selector(".jp-RenderedSVG img, .jp-RenderedSVG svg", timeout=180_000)
            assert graph.bounding_box()["width"] > 200  # the blueprint graph rendered

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
            kill.click(force=True, no_wait_after=True, timeout=120_000)
            page.wait_for_selector(".jupyter-widgets :text('node_lost')", timeout=120_000)

            page.locator(".jupyter-widgets .lm-TabBar-tab", has_text="Timeline").click(
                force=True, no_wait_after=True, timeout=120_000
            )
            page.wait_for_function(
                "() => document.querySelectorAll('.kit-tl canvas').length > 0", timeout=60_000
            )
            before = plotted_points(page)
            deadline = time.monotonic() + 60
            after = before
            while after <= before and time.monotonic() < deadline:
                time.sleep(1)
                after = plotted_points(page)
            assert after > before, "the timeline did not update live"
        finally:
            page.screenshot(path=os.path.join(ARTIFACTS, "browser.png"), full_page=True)
            browser.close()
