"""What the browser tests share: Debian's Chromium driven by Playwright, and
programs that print the URL holter serves them at.

CI installs both Chromium and Playwright (scripts/setup.sh --test), so
`skip_without_browser()` only spares a bare developer machine. Never
`playwright install`: the browser comes from Debian.
"""
from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
URL_TIMEOUT = 20.0      # s for a program to start and print its URL


def skip_without_browser():
    """Skips the calling test module without Chromium or Playwright; returns
    playwright.sync_api."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (CI installs it)", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed (CI installs it)")


@contextlib.contextmanager
def url_program(path: Path, *args: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """Runs `path` (which prints holter's URL as its first line of stdout);
    yields (process, URL) and kills it afterwards. Fails the test with the
    program's stderr if no URL comes."""
    err = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([sys.executable, str(path), *args],
                            stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
        try:
            url = lines.get(timeout=URL_TIMEOUT).strip()
        except queue.Empty:
            url = ""
        if not url.startswith("http"):
            err.seek(0)
            pytest.fail(f"{path.name} printed {url!r}, not a URL; stderr:\n{err.read()}")
        yield proc, url
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        err.close()


@contextlib.contextmanager
def browser_page(sync_api, width: int, height: int):
    """A fresh headless Chromium page; fails the test on any JavaScript error."""
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.set_default_timeout(10_000)
            yield pg
            assert not errors, f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()
