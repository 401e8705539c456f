"""First open in a real browser: `python -m kit lab` starts a notebook's kernel, no "Select Kernel" dialog."""

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.request

import pytest
from test_browser import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    NOTEBOOKS,
    chromium,
    free_port,
    stop,
    wait_until_up,
)

from kit.__main__ import kernels_can_encrypt

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIRST = "00_check_your_setup.ipynb"
#: A notebook saved where its kernel had another name, in an environment with two Python kernels:
#: plain JupyterLab cannot choose, so it asks; the kit's settings start the default kernel.
ELSEWHERE = "saved_elsewhere.ipynb"
#: Records every dialog JupyterLab shows, even one that closes again, from the first paint on.
WATCH_DIALOGS = """
window.kitDialogs = [];
new MutationObserver(() => {
  for (const d of document.querySelectorAll('.jp-Dialog')) {
    if (!d.dataset.kitSeen) { d.dataset.kitSeen = '1'; window.kitDialogs.push(d.innerText); }
  }
}).observe(document, {childList: true, subtree: true});
"""
KERNEL_IDLE = """() => Array.from(document.querySelectorAll('.jp-StatusBar-Widget'))
    .some(e => /\\| Idle/.test(e.textContent))"""


def fresh_user(home):
    """Environment of a user who never ran Jupyter, with a second Python kernel of their own."""
    other = home / "data" / "kernels" / "python-other"
    other.mkdir(parents=True)
    spec = {
        "argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "language": "python",
    }
    (other / "kernel.json").write_text(json.dumps({**spec, "display_name": "Python (other)"}))
    dirs = {"HOME": "", "JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data"}
    dirs.update(JUPYTERLAB_SETTINGS_DIR="settings", JUPYTERLAB_WORKSPACES_DIR="workspaces")
    dirs.update(JUPYTER_RUNTIME_DIR="runtime")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    return {**env, **{k: str(home / v) for k, v in dirs.items()}}


def copy_notebooks(folder):
    """Copies of the kit's first notebook, and of one whose kernel name this environment lacks."""
    folder.mkdir()
    shutil.copy(os.path.join(NOTEBOOKS, FIRST), folder / FIRST)
    nb = json.loads((folder / FIRST).read_text())
    nb["metadata"]["kernelspec"] = {
        "name": "kit-gone",
        "display_name": "Python (gone)",
        "language": "python",
    }
    (folder / ELSEWHERE).write_text(json.dumps(nb))
    return folder


@contextlib.contextmanager
def kit_lab(tmp_path, *extra):
    """``python -m kit lab`` as a user starts it (plus a port and token); yields its URL and token."""
    home = tmp_path / "home"
    env, folder = fresh_user(home), copy_notebooks(home / "notebooks")
    port, token = free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "kit", "lab", f"--notebook-dir={folder}", "--no-browser"]
    cmd += [f"--port={port}", f"--IdentityProvider.token={token}", *extra]
    with open(home / "lab.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=home)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(proc, f"{url}/api/status?token={token}", home / "lab.log")
            yield url, token
        finally:
            stop(proc)


def sessions(url, token):
    with urllib.request.urlopen(f"{url}/api/sessions?token={token}", timeout=10) as answer:
        return {s["path"]: s["kernel"] for s in json.load(answer)}


@contextlib.contextmanager
def open_from_file_browser(browser, url, token, name, shot):
    """Opens JupyterLab and double-clicks ``name``; yields the page and the dialogs seen until idle."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(120_000)  # a busy 2-core machine renders slowly
    page.add_init_script(WATCH_DIALOGS)
    try:
        page.goto(f"{url}/lab?token={token}")
        page.locator(".jp-DirListing-item", has_text=name).dblclick()
        page.wait_for_function(
            f"() => window.kitDialogs.length > 0 || ({KERNEL_IDLE})()", timeout=180_000, polling=200
        )
        yield page, page.evaluate("window.kitDialogs")
    finally:
        page.screenshot(path=os.path.join(ARTIFACTS, shot))
        page.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    os.makedirs(ARTIFACTS, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def test_first_open_starts_the_kernel_without_a_dialog(tmp_path, browser):
    with kit_lab(tmp_path) as (url, token):
        for name in (FIRST, ELSEWHERE):
            with open_from_file_browser(browser, url, token, name, f"first-open-{name}.png") as (
                page,
                dialogs,
            ):
                toasts = page.locator(".Toastify__toast").all_inner_texts()
            assert dialogs == [], f"opening {name} showed a dialog: {dialogs}"
            assert toasts == [], f"opening {name} showed notifications: {toasts}"
            kernel = sessions(url, token)[name]
            assert (kernel["name"], kernel["execution_state"]) == ("python3", "idle"), kernel
    log = (tmp_path / "home" / "lab.log").read_text(errors="replace")
    assert "Kernel started" in log, log[-2000:]
    if kernels_can_encrypt():  # the kernels got CurveZMQ keys: ipykernel has nothing to warn of
        assert "without encryption" not in log, log[-2000:]


def test_without_the_kits_settings_jupyterlab_asks(tmp_path, browser):
    """The control: the same first open, the kit's settings left out, shows the dialog the test guards."""
    with kit_lab(tmp_path, f"--LabApp.app_settings_dir={tmp_path / 'no-settings'}") as (url, token):
        with open_from_file_browser(browser, url, token, ELSEWHERE, "first-open-control.png") as (
            page,
            dialogs,
        ):
            assert dialogs and "select kernel" in dialogs[0].lower(), dialogs
            page.locator(".Toastify__toast", has_text="Jupyter news").wait_for(timeout=60_000)
