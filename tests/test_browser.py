"""The page in a real browser, against a real traced program.

tests/programs/browser_target.py runs a main-thread loop and a thread named
"worker" under holter; headless Chromium (Debian's /usr/bin/chromium, driven
by Playwright) opens the URL it prints and uses the page as a person would:
open the file from the index, watch a hit count rise, follow a stack link.
What the page reads is docs/http-api.md; what it shows is
src/holter/static/ (the DOM hooks used here are named in app.js,
fileview.js and stacks.js).

Chromium and Playwright come as tests/browser.py says.
"""
from __future__ import annotations

import re
import time

import pytest

from browser import browser_page, skip_without_browser, url_program
from conftest import PROGRAMS, marks

sync_api = skip_without_browser()
expect = sync_api.expect

TARGET = PROGRAMS / "browser_target.py"
M = marks(TARGET)


@pytest.fixture
def target():
    """(process, URL) of a running browser_target.py, killed afterwards."""
    with url_program(TARGET, "60") as running:
        yield running


@pytest.fixture
def page():
    with browser_page(sync_api, 1200, 520) as pg:
        yield pg


def hits_on(pg, line: int) -> int:
    text = pg.locator(f"tr#line-{line} td.hits").text_content().strip()
    return int(text) if text else 0


def in_viewport(pg, selector: str) -> bool:
    """True if the element is at least partly visible in the window (the
    file view scrolls inside its own pane; bounding boxes are in window
    coordinates, and the stacks panel covers the bottom of the window)."""
    return pg.evaluate(
        """sel => {
            const r = document.querySelector(sel).getBoundingClientRect();
            const v = document.getElementById('view').getBoundingClientRect();
            return r.bottom > v.top && r.top < v.bottom;
        }""", selector)


def test_file_view_counts_and_stack_links(target, page):
    proc, url = target

    # Index: the traced file is listed with its total hits; open it.
    page.goto(url)
    link = page.locator("a.file-link", has_text="browser_target.py")
    expect(link).to_be_visible()
    file_id = link.get_attribute("data-file-id")
    expect(page.locator(f'tr[data-file-id="{file_id}"] .file-hits')).to_have_text(re.compile(r"^\d+$"))
    link.click()
    expect(page).to_have_url(re.compile(rf"#/file/{file_id}$"))

    # The loop body's count, read twice at least 0.5 s apart, rises. The page
    # polls every 250 ms; allow a slow machine a few seconds for the rise.
    body = M["main-body"]
    expect(page.locator(f"tr#line-{body} td.hits")).to_have_text(re.compile(r"^\d+$"))
    first, t0 = hits_on(page, body), time.monotonic()
    time.sleep(0.6)
    second = hits_on(page, body)
    while second <= first and time.monotonic() - t0 < 5:
        time.sleep(0.25)
        second = hits_on(page, body)
    assert second > first, f"hits on line {body} stayed at {first}"

    # Executing now: the worker sleeps nearly all the time on a line with
    # non-ASCII text before the call; the highlighted sub-expression must be
    # exactly the call (pos columns are UTF-8 bytes, the page must convert).
    sleep_mark = page.locator(f"tr#line-{M['worker-sleep']} mark.executing")
    expect(sleep_mark).to_have_text("time.sleep(0.01)")
    expect(page.locator(f"tr#line-{M['worker-sleep']}")).to_have_class(re.compile(r"\bexecuting\b"))

    # Stacks panel: the worker's frame in this file links to its line.
    worker = page.locator('#stacks [data-thread-name="worker"]')
    expect(worker).to_have_count(1)
    frame = worker.locator(f'a.frame-link[data-file-id="{file_id}"]').last
    expect(frame).to_be_visible()

    # Scroll the worker's lines out of sight first, so the jump is real.
    page.evaluate(
        """line => {
            const view = document.getElementById('view');
            const row = document.getElementById('line-' + line);
            view.scrollTop = row.offsetTop > view.clientHeight ? 0 : view.scrollHeight;
        }""", M["worker-sleep"])
    assert not in_viewport(page, f"#line-{M['worker-sleep']}"), \
        "the page shows the whole file: make browser_target.py longer or the viewport smaller"

    frame.click()
    expect(page).to_have_url(re.compile(rf"#/file/{file_id}/\d+$"))
    line = int(page.url.rsplit("/", 1)[1])
    worker_lines = {M["worker-while"], M["worker-body"], M["worker-sleep"]}
    assert line in worker_lines, f"followed the worker's frame to line {line}, not one of {worker_lines}"
    row = page.locator(f"tr#line-{line}")
    # Marked as the line we came for: executing, flashing, or the URL's target.
    expect(row).to_have_class(re.compile(r"\b(executing|flash|target)\b"))
    expect(row).to_be_in_viewport()
    assert in_viewport(page, f"#line-{line}")
    assert proc.poll() is None, "the target program died during the test"
