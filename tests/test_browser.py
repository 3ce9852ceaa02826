"""Notebooks 08 and 11 in a real browser: JupyterLab on 127.0.0.1, headless Chromium driven by Playwright.

Runs every cell, types a German sentence into the translate widget and checks that an English
translation appears. A second test runs notebook 11 and picks another head, then the encoder's
self-attention, in its attention-head explorer, and checks that the heatmap is redrawn each time.
Screenshots are saved to `artifacts/browser/`. Skipped when Chromium or Playwright is missing,
unless SEQ2SEQ_REQUIRE_BROWSER=1 (as in CI), where that is a failure. The notebooks read Multi30k
from the folder the `multi30k_dir` fixture finds (skipped without it), and a cell that raises ends
the test at once with the error, not after the widget's timeout.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "notebooks/08_inference_bleu.ipynb"
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SENTENCE = "Ein Mann spielt Gitarre."

pytestmark = [pytest.mark.browser, pytest.mark.multi30k]


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("SEQ2SEQ_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " (SEQ2SEQ_REQUIRE_BROWSER=1 makes this a failure)")
    pytest.skip(reason)


def _chromium() -> str | None:
    return os.environ.get("SEQ2SEQ_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_server(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer at {url} within {timeout} s")


# JupyterLab user settings for the test: never write the notebook back to disk (its committed
# outputs stay as they are), start its kernel without asking, show no news pop-up, and keep every
# cell in the page (by default JupyterLab 4 renders only the cells near the view, so a running cell
# further down would look finished to WIDGET_OR_STOPPED).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True, "windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def _write_lab_settings(settings_dir: Path) -> None:
    for name, values in LAB_SETTINGS.items():
        path = settings_dir / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture()
def jupyter_lab(tmp_path, multi30k_dir):
    port, token = _free_port(), secrets.token_hex(16)
    _write_lab_settings(tmp_path / "settings")
    # the kernel must find the files the fixture found, or it would try to download them
    env = dict(os.environ, SEQ2SEQ_PROFILE="ci", SEQ2SEQ_DATA_DIR=str(multi30k_dir),
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"))
    log = open(tmp_path / "lab.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", "--ServerApp.disable_check_xsrf=True", "--allow-root",
         f"--ServerApp.root_dir={ROOT}", "--LabApp.news_url=", "--LabApp.collaborative=False"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        _wait_for_server(f"http://127.0.0.1:{port}/api?token={token}", process)
        yield f"http://127.0.0.1:{port}", token
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _run_all_cells(page, timeout_error: type[Exception], attempts: int = 3, notebook: str = NOTEBOOK) -> None:
    """Run > Run All Cells, until the kernel turns busy (the command does nothing while the notebook
    is not the current panel, which can happen on a slow machine)."""
    for _ in range(attempts):
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=Path(notebook).name).first.click()
        page.click("text=Run", timeout=30_000)
        page.click("text=Run All Cells", timeout=30_000)
        try:
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='busy']", timeout=30_000)
            return
        except timeout_error:
            page.keyboard.press("Escape")  # close the menu if it is still open
    raise AssertionError(f"Run All Cells did not start the kernel in {attempts} attempts")


TEXT_BOX = ".seq2seq-translate-input input, .seq2seq-translate-input textarea"
# True once the widget's text box exists, or once no cell is queued or running any more
# (a cell that raised clears the queue behind it, so the widget will never come).
WIDGET_OR_STOPPED = f"""() => document.querySelector({json.dumps(TEXT_BOX)}) !== null ||
    ![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))"""
READ_ERRORS = """() => [...document.querySelectorAll('.jp-OutputArea-output')]
    .map(o => o.textContent).filter(t => /Error|Traceback/.test(t))"""


def _wait_for_widget(page, timeout_ms: int = 300_000):
    """The translate widget's text box, once Run All Cells has created it; fails with the
    notebook's error output if the cells stopped before it appeared."""
    page.wait_for_function(WIDGET_OR_STOPPED, timeout=timeout_ms)
    text_box = page.locator(TEXT_BOX).first
    if text_box.count() == 0:
        errors = page.evaluate(READ_ERRORS)
        raise AssertionError(f"{NOTEBOOK} stopped before the translate widget appeared; its error output:\n"
                             + ("\n".join(errors)[-3000:] or "(none shown)"))
    return text_box


@contextmanager
def notebook_page(jupyter_lab, notebook: str, failure_shot: str):
    """A Chromium page with `notebook` open in JupyterLab and all its cells started; yields (page, playwright).

    Skips (or, with SEQ2SEQ_REQUIRE_BROWSER=1, fails) without the notebook, Chromium or Playwright;
    on an error it saves a screenshot to ARTIFACTS / failure_shot; the browser is closed after.
    """
    _require((ROOT / notebook).is_file(), f"{notebook} does not exist yet")
    chromium = _chromium()
    _require(chromium is not None, "Chromium is not installed (make browser-deps installs Debian's chromium)")
    playwright = pytest.importorskip("playwright.sync_api") if os.environ.get(
        "SEQ2SEQ_REQUIRE_BROWSER") != "1" else __import__("playwright.sync_api").sync_api
    base, token = jupyter_lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as driver:
        # Playwright gives the browser a fresh temporary profile (it refuses --user-data-dir here)
        browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{base}/lab/tree/{notebook}?token={token}", timeout=120_000)
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
            _run_all_cells(page, playwright.TimeoutError, notebook=notebook)
            yield page, playwright
        except Exception:
            page.screenshot(path=str(ARTIFACTS / failure_shot), full_page=False)  # what the page showed
            raise
        finally:
            browser.close()


def test_translate_widget_in_jupyterlab(jupyter_lab):
    saved = (ROOT / NOTEBOOK).stat().st_mtime_ns
    with notebook_page(jupyter_lab, NOTEBOOK, "08_failure.png") as (page, _):
        text_box = _wait_for_widget(page)
        text_box.scroll_into_view_if_needed()
        text_box.fill(SENTENCE)
        page.locator(".seq2seq-translate-button button, button.seq2seq-translate-button").first.click()
        output = page.locator(".seq2seq-translation")
        page.wait_for_function(
            "() => { const el = document.querySelector('.seq2seq-translation');"
            " return el && /[a-z]/.test(el.innerText) && !el.innerText.includes('Translating'); }",
            timeout=120_000)
        translation = output.first.inner_text()
        output.first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "08_translate_widget.png"), full_page=False)
    assert re.search(r"[a-z]{2,}", translation), f"no English words in the widget's output: {translation!r}"
    assert SENTENCE not in translation, "the widget echoed the German input instead of translating it"
    assert (ROOT / NOTEBOOK).stat().st_mtime_ns == saved, "JupyterLab wrote the notebook back to disk"


HEAD_NOTEBOOK = "notebooks/11_transformer.ipynb"
HEAD_MENU, KIND_MENU = ".seq2seq-head-head select", ".seq2seq-head-kind select"
HEAD_FIGURE, HEAD_TEXT = ".seq2seq-head-figure img", ".seq2seq-head-text"
ALL_CELLS_DONE = """() => ![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))"""


def test_head_explorer_in_jupyterlab(jupyter_lab):
    """Notebook 11's attention-head explorer: another head, then the encoder's self-attention, redraws the heatmap."""
    saved = (ROOT / HEAD_NOTEBOOK).stat().st_mtime_ns
    with notebook_page(jupyter_lab, HEAD_NOTEBOOK, "11_failure.png") as (page, _):
        page.wait_for_function(ALL_CELLS_DONE, timeout=300_000)  # a cell that raises clears the queue too
        if page.locator(HEAD_MENU).count() == 0 or page.locator(HEAD_FIGURE).count() == 0:
            errors = page.evaluate(READ_ERRORS)
            raise AssertionError(f"{HEAD_NOTEBOOK} finished without the head explorer; its error output:\n"
                                 + ("\n".join(errors)[-3000:] or "(none shown)"))
        menu = page.locator(HEAD_MENU).first
        menu.scroll_into_view_if_needed()
        first_image = page.locator(HEAD_FIGURE).first.get_attribute("src")
        first_text = page.locator(HEAD_TEXT).first.inner_text()
        menu.select_option(label="head 3")
        changed = ("(old) => { const img = document.querySelector('%s'); return img && img.src !== old; }"
                   % HEAD_FIGURE)
        page.wait_for_function(changed, arg=first_image, timeout=60_000)
        page.wait_for_function("() => document.querySelector('%s').innerText.includes('head 3 of')" % HEAD_TEXT,
                               timeout=60_000)
        head_image = page.locator(HEAD_FIGURE).first.get_attribute("src")
        head_text = page.locator(HEAD_TEXT).first.inner_text()
        page.locator(KIND_MENU).first.select_option(label="encoder self-attention")
        page.wait_for_function(changed, arg=head_image, timeout=60_000)
        page.wait_for_function("() => document.querySelector('%s').innerText.includes('encoder self-attention')"
                               % HEAD_TEXT, timeout=60_000)
        encoder_text = page.locator(HEAD_TEXT).first.inner_text()
        page.locator(HEAD_FIGURE).first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "11_head_explorer.png"), full_page=False)
    assert "decoder cross-attention, layer 1 of" in first_text and "head 1 of" in first_text
    assert "head 3 of" in head_text and head_text != first_text
    assert "encoder self-attention" in encoder_text and "head 3 of" in encoder_text
    assert first_image.startswith("data:image/png") and head_image != first_image
    assert (ROOT / HEAD_NOTEBOOK).stat().st_mtime_ns == saved, "JupyterLab wrote the notebook back to disk"
