"""The live page mounted inside a Flask application (page_path="/_holter"),
in headless Chromium: loaded with ?token=, it reads the profile through the
mount with relative URLs, its cookie opens it again, and Reset works."""
import os
import re

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing (CI installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (CI installs it)")
pytest.importorskip("flask")
expect = sync_api.expect

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def app(serve_program):
    prog = serve_program("mw_serve.py")
    yield prog.url.rstrip("/")
    assert prog.finish() == 0


def test_mounted_page_in_a_browser(app):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context()
            page = ctx.new_page()
            page.set_default_timeout(10_000)
            errors, answers = [], []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("response", lambda r: answers.append((r.status, r.url)))

            page.goto(f"{app}/_holter?token=s3cret#/profile")      # redirected to /_holter/
            expect(page).to_have_url(re.compile(r"/_holter/\?token=s3cret#/profile$"))
            expect(page.locator('tr.top-row[data-name="busy_handler"]')).to_have_count(1)
            expect(page.locator("#sampler-health")).to_contain_text("wall")
            mounted = [(s, u) for s, u in answers if "/_holter/" in u]
            assert any("/_holter/api/profile" in u for _, u in mounted), answers
            assert all(s in (200, 304, 308) for s, _ in answers), answers

            # The cookie set by ?token= opens the page without the token.
            answers.clear()
            page.goto(f"{app}/_holter/#/profile")
            expect(page.locator('tr.top-row[data-name="busy_handler"]')).to_have_count(1)
            assert all(s in (200, 304) for s, _ in answers), answers

            # Reset: a POST with X-Holter-Action, through the mount.
            with page.expect_response(lambda r: r.url.endswith("/_holter/api/profile/reset")) as resp:
                page.locator("#flame-reset").click()
            assert resp.value.status == 200
            assert not errors, errors

            # Another browser, no token: refused.
            other = browser.new_context().new_page()
            assert other.goto(f"{app}/_holter/").status == 403
            assert other.goto(f"{app}/_holter/api/profile").status == 403
        finally:
            browser.close()
