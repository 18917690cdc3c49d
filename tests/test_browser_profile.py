"""The profile view (#/profile) in a real browser, against a real sampled program.

tests/programs/profile_target.py starts holter's stack sampler (wall mode,
every 5 ms): its main thread burns CPU in burn(), a thread named "sleeper"
sleeps in nap(). Headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright) opens #/profile and uses the flame graph as a person would:
find burn, search for it, click it to zoom, then keep only the sleeper's
samples. What the page reads is docs/http-api.md ("The stack sampler");
what it draws is src/holter/static/profile.js and flame.js. The canvas is
read through the page's read-only test hook, window.holterFlame:
nodeAt(x, y) (CSS px from the canvas' top left), zoomedPath(), matchedCount().

Chromium and Playwright come as tests/browser.py says.
"""
from __future__ import annotations

import time

import pytest

from browser import browser_page, skip_without_browser, url_program
from conftest import PROGRAMS

sync_api = skip_without_browser()
expect = sync_api.expect

TARGET = PROGRAMS / "profile_target.py"
DRAW_TIMEOUT = 15.0     # s for the page to poll, parse and draw what we wait for

# Scans the canvas through window.holterFlame, row by row (every 4 px down,
# 2 px across), for the node called `name`; returns the middle of its widest
# run of pixels, in CSS px from the canvas' top left, or null. The middle
# vertically too: a click right on a row's edge could land on the next row.
FIND_NODE = """name => {
    const f = window.holterFlame, c = document.getElementById('flame');
    if (!f || !c) return null;
    const w = c.clientWidth, h = c.clientHeight;
    const is = (x, y) => { const n = f.nodeAt(x, y); return !!n && n.name === name; };
    let best = null;
    for (let y = 2; y < h; y += 4) {
        let x0 = -1;
        for (let x = 0; x <= w; x += 2) {
            if (x < w && is(x, y)) { if (x0 < 0) x0 = x; continue; }
            if (x0 >= 0 && (!best || x - x0 > best.w)) best = {x: (x0 + x - 2) / 2, y, w: x - x0};
            x0 = -1;
        }
    }
    if (!best) return null;
    let top = best.y, bottom = best.y;
    while (top > 0 && is(best.x, top - 1)) top--;
    while (bottom < h - 1 && is(best.x, bottom + 1)) bottom++;
    return {x: best.x, y: (top + bottom) / 2};
}"""

# The set of node names drawn on the canvas.
DRAWN_NAMES = """() => {
    const f = window.holterFlame, c = document.getElementById('flame');
    const names = new Set();
    if (!f || !c) return [];
    for (let y = 2; y < c.clientHeight; y += 4)
        for (let x = 0; x < c.clientWidth; x += 2) {
            const n = f.nodeAt(x, y);
            if (n) names.add(n.name);
        }
    return [...names];
}"""


def wait_js(pg, script: str, arg=None, timeout: float = DRAW_TIMEOUT, what: str = ""):
    """Evaluates the function `script` (with `arg`) in the page until it
    returns something truthy, and returns that. Not page.wait_for_function:
    that compiles its predicate with eval, which holter's Content Security
    Policy (rightly) forbids; page.evaluate goes through the debugger."""
    deadline = time.monotonic() + timeout
    while True:
        value = pg.evaluate(script, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            shown = pg.evaluate("""() => ['conn', 'sampler-health'].map(id =>
                id + ': ' + (document.getElementById(id)?.textContent || '').trim()).join('; ')""")
            pytest.fail(f"timed out after {timeout} s waiting for {what or script}; the page shows {shown}")
        time.sleep(0.1)


@pytest.fixture
def target():
    """(process, URL) of a running profile_target.py, killed afterwards."""
    with url_program(TARGET, "60") as running:
        yield running


@pytest.fixture
def page():
    with browser_page(sync_api, 1300, 900) as pg:
        yield pg


def profile_url(url: str) -> str:
    """The printed URL (maybe with ?token=...) opened on the profile view."""
    return url.split("#")[0] + "#/profile"


def test_flame_graph_search_zoom_and_thread_filter(target, page):
    proc, url = target
    page.goto(profile_url(url))

    # The sampler's health line says it runs in wall mode.
    expect(page.locator("#sampler-health")).to_contain_text("wall")

    # burn() shows up in the flame graph (the page polls about once a second).
    wait_js(page, FIND_NODE, "burn", what="a node named burn in the flame graph")
    # ... and in the top functions table, from /api/profile/top.
    expect(page.locator('tr.top-row[data-name="burn"]')).to_have_count(1)

    # Search: "burn" matches at least the burn frame, and the page says how much.
    page.fill("#flame-search", "burn")
    wait_js(page, "() => window.holterFlame.matchedCount() >= 1", what="a search match")
    expect(page.locator("#flame-match")).to_contain_text("% of total")

    # Click burn: the graph zooms into it; the zoom survives the next polls.
    pos = page.evaluate(f"({FIND_NODE})('burn')")
    assert pos is not None, "burn vanished from the flame graph"
    page.locator("#flame").click(position=pos)
    path = page.evaluate("window.holterFlame.zoomedPath()")
    assert path and path[-1] == "burn", f"zoomed path after clicking burn: {path}"
    page.wait_for_timeout(2500)
    path = page.evaluate("window.holterFlame.zoomedPath()")
    assert path and path[-1] == "burn", f"zoom lost after a refresh: {path}"

    # Only the sleeper thread: burn (main thread) goes, nap stays.
    sleeper = page.locator('#flame-thread option[data-name="sleeper"]')
    expect(sleeper).to_have_count(1, timeout=DRAW_TIMEOUT * 1000)
    page.select_option("#flame-thread", value=sleeper.get_attribute("value"))
    wait_js(page, f"() => {{ const names = ({DRAWN_NAMES})(); "
            "return names.includes('nap') && !names.includes('burn'); }",
            what="nap without burn after choosing the sleeper thread")
    assert proc.poll() is None, "the target program died during the test"
