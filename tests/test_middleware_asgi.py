"""holter.asgi.ProfilingMiddleware under Starlette and FastHTML: Starlette's
TestClient in this process, and a real uvicorn in a subprocess."""
import os
import subprocess
import sys
import threading
import time

import pytest

from conftest import PROGRAMS

pytest.importorskip("starlette")
pytest.importorskip("httpx")                     # Starlette's TestClient needs it
from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Mount  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

sys.path.insert(0, str(PROGRAMS))
import mw_starlette  # noqa: E402
from mw_support import (check_profile, free_port, index_of, request, stacks_with,  # noqa: E402
                        stop_server, total, wait_until_serving)

import holter  # noqa: E402
from holter.asgi import ProfilingMiddleware  # noqa: E402

SECRET = "s3cret"
INTERVAL = 0.01
TOKEN = {"PROFILER-TOKEN": SECRET}


@pytest.fixture(scope="module", autouse=True)
def own_sampler():
    """The apps here start the sampler in this process: stop it afterwards."""
    if holter.sampling():
        holter.stop()
    yield
    holter.stop()


@pytest.fixture(scope="module")
def client():
    with TestClient(mw_starlette.create_app(secret=SECRET, interval=INTERVAL)) as c:
        yield c


@pytest.fixture(scope="module")
def uvicorn_port():
    """A real uvicorn in a subprocess, 127.0.0.1 only."""
    pytest.importorskip("uvicorn")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "mw_starlette:create_app",
         "--app-dir", str(PROGRAMS), "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        env={**os.environ, "HOLTER_MW_SECRET": SECRET, "HOLTER_MW_INTERVAL": str(INTERVAL)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_serving(port, proc)
        yield port
    finally:
        err = stop_server(proc)
    assert "Traceback" not in err, err


# ---------------------------------------------------------------- pass-through

PASSED = [("GET", "/", None), ("GET", "/nope", None), ("POST", "/echo", b"\x00payload\xff"),
          ("GET", "/liveprofiler/", None), ("POST", "/liveprofiler", b""),
          ("HEAD", "/liveprofiler", None), ("GET", "/_holterx", None)]


@pytest.mark.parametrize("method,path,body", PASSED)
def test_other_requests_pass_through_unchanged(client, method, path, body):
    with TestClient(mw_starlette.create_app(wrap=False)) as bare:
        want = bare.request(method, path, content=body, headers=TOKEN)
    got = client.request(method, path, content=body, headers=TOKEN)
    assert got.status_code == want.status_code
    assert got.headers.multi_items() == want.headers.multi_items()
    assert got.content == want.content


def test_lifespan_and_websockets_pass_through():
    app = mw_starlette.create_app(secret=SECRET, interval=INTERVAL)
    with TestClient(app) as c:
        assert c.get("/lifespan").text == "started"
        with c.websocket_connect("/ws") as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "echo: hi"
        # A websocket at the profile's path is the application's business.
        with pytest.raises(Exception):
            with c.websocket_connect("/liveprofiler", headers=TOKEN):
                pass
    assert mw_starlette.state["lifespan"] == "stopped"


def test_streaming_through_uvicorn(uvicorn_port):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", uvicorn_port, timeout=10)
    conn.request("GET", "/stream")
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.read1(64) == b"first chunk\n"          # the app is still waiting
    assert request(uvicorn_port, "/release")[0] == 200
    assert resp.read() == b"second chunk\n"
    conn.close()


# ---------------------------------------------------------------- the profile

@pytest.mark.parametrize("headers", [{}, {"PROFILER-TOKEN": "wrong"}, {"PROFILER_TOKEN": "wrong"},
                                     {"PROFILER-TOKEN": ""}, {"X-Holter-Token": SECRET}])
def test_missing_or_wrong_token_is_403_with_an_empty_body(client, headers):
    r = client.get("/liveprofiler", headers=headers)
    assert r.status_code == 403 and r.content == b""


@pytest.mark.parametrize("name", ["PROFILER_TOKEN", "PROFILER-TOKEN"])
def test_profile_through_uvicorn(uvicorn_port, name):
    # uvicorn keeps header names with an underscore: both spellings work.
    request(uvicorn_port, "/liveprofiler", {name: SECRET})               # start clean
    assert request(uvicorn_port, "/busy?s=0.5")[0] == 200
    status, headers, body = request(uvicorn_port, "/liveprofiler", {name: SECRET})
    assert status == 200 and headers["Content-Type"] == "application/json"
    data = check_profile(body, INTERVAL)
    busy = stacks_with(data, "busy_handler")
    assert sum(s["count"] for s in data["stacks"] if "busy_handler(" in s["frame"]) >= 10
    for frames in busy:
        # Starlette runs a plain-function endpoint in anyio's worker threads.
        assert frames[0] == "_bootstrap(threading)", frames
        assert index_of(frames, "busy") < index_of(frames, "busy_handler") == len(frames) - 1
    status, _, body = request(uvicorn_port, "/liveprofiler", {name: "wrong"})
    assert (status, body) == (403, b"")


def test_reads_reset_unless_reset_0(client):
    client.get("/busy?s=0.3")
    first = check_profile(client.get("/liveprofiler?reset=0", headers=TOKEN).content, INTERVAL)
    time.sleep(0.1)
    second = check_profile(client.get("/liveprofiler?reset=0", headers=TOKEN).content)
    assert second["elapsed"] > first["elapsed"] and total(second) >= total(first) > 0
    assert stacks_with(second, "busy_handler")
    third = check_profile(client.get("/liveprofiler", headers=TOKEN).content)
    fourth = check_profile(client.get("/liveprofiler", headers=TOKEN).content)
    assert total(third) >= total(second) and stacks_with(third, "busy_handler")
    assert fourth["elapsed"] < third["elapsed"] and total(fourth) < total(third)
    assert not stacks_with(fourth, "busy_handler")


def test_profile_is_read_off_the_event_loop():
    """The C call runs in a worker thread, never on the event loop's."""
    app = mw_starlette.create_app(secret=SECRET, interval=INTERVAL)
    respond, seen = app.profiler.respond, []

    def watched(req):
        seen.append(threading.get_ident())
        return respond(req)

    app.profiler.respond = watched
    with TestClient(app) as c:
        assert c.get("/liveprofiler", headers=TOKEN).status_code == 200
        assert c.get("/_holter/api/sampler", headers=TOKEN).status_code == 200
        loop_thread = c.portal.call(threading.get_ident)
    assert len(seen) == 2 and loop_thread not in seen


def test_mounted_under_a_root_path():
    inner = mw_starlette.create_app(secret=SECRET, interval=INTERVAL)
    with TestClient(Starlette(routes=[Mount("/sub", app=inner)])) as c:
        assert c.get("/sub/").text == "hello from starlette\n"
        assert c.get("/sub/liveprofiler", headers=TOKEN).status_code == 200
        assert c.get("/liveprofiler", headers=TOKEN).status_code == 404
        r = c.get("/sub/_holter?token=" + SECRET, follow_redirects=False)
        assert r.status_code == 308 and r.headers["Location"] == "/sub/_holter/?token=" + SECRET
        r = c.get("/sub/_holter/?token=" + SECRET)
        assert r.status_code == 200 and "Path=/sub/_holter;" in r.headers["Set-Cookie"]


# ---------------------------------------------------------------- the page

def test_page_redirects_to_its_slash(client):
    r = client.get("/_holter", follow_redirects=False)
    assert r.status_code == 308 and r.headers["Location"] == "/_holter/"


@pytest.mark.parametrize("path", ["/_holter/", "/_holter/static/app.js", "/_holter/api/sampler"])
def test_page_needs_the_token(path):
    with TestClient(mw_starlette.create_app(secret=SECRET)) as c:
        for headers in ({}, {"PROFILER-TOKEN": "nope"}, {"Cookie": "holter_token=" + SECRET}):
            r = c.get(path, headers=headers)
            assert r.status_code == 403 and r.headers["X-Content-Type-Options"] == "nosniff"
        r = c.get(path + "?token=nope")
        assert r.status_code == 403 and "set-cookie" not in r.headers


def test_page_with_token_then_cookie():
    with TestClient(mw_starlette.create_app(secret=SECRET, interval=INTERVAL)) as c:
        r = c.get("/_holter/?token=" + SECRET)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
        assert b"static/app.js" in r.content
        cookie = r.headers["Set-Cookie"]
        assert {"Path=/_holter", "HttpOnly", "SameSite=Strict"} <= {p.strip() for p in cookie.split(";")}
        r = c.get("/_holter/static/app.js")
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/javascript")
        r = c.get("/_holter/api/sampler")
        assert r.status_code == 200 and r.json()["running"] is True


def test_page_answers_304_to_if_none_match(client):
    r = client.get("/_holter/api/files", headers=TOKEN)
    assert r.status_code == 200
    r = client.get("/_holter/api/files", headers={**TOKEN, "If-None-Match": r.headers["ETag"]})
    assert r.status_code == 304 and r.content == b"" and "content-type" not in r.headers


def test_reset_needs_post_and_the_action_header(client):
    client.get("/busy?s=0.2")
    assert client.post("/_holter/api/profile/reset", headers=TOKEN).status_code == 403
    assert stacks_with(check_profile(client.get("/liveprofiler?reset=0", headers=TOKEN).content),
                       "busy_handler")
    r = client.post("/_holter/api/profile/reset", headers={**TOKEN, "X-Holter-Action": "reset"})
    assert r.status_code == 200
    after = check_profile(client.get("/liveprofiler?reset=0", headers=TOKEN).content)
    assert not stacks_with(after, "busy_handler")


def test_page_through_uvicorn(uvicorn_port):
    status, headers, body = request(uvicorn_port, "/_holter/?token=" + SECRET)
    assert status == 200 and b"static/app.js" in body
    cookie = headers["Set-Cookie"].split(";")[0]
    status, headers, body = request(uvicorn_port, "/_holter/api/sampler", {"Cookie": cookie})
    assert status == 200 and b'"running"' in body
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert request(uvicorn_port, "/_holter/api/sampler")[0] == 403


# ---------------------------------------------------------------- FastHTML

def test_fasthtml():
    pytest.importorskip("fasthtml")
    import mw_fasthtml
    with TestClient(mw_fasthtml.create_app(wrap=False)) as bare:
        want = bare.get("/")
    with TestClient(mw_fasthtml.create_app(secret=SECRET, interval=INTERVAL)) as c:
        got = c.get("/")
        assert (got.status_code, got.content) == (want.status_code, want.content)
        assert b"hello from fasthtml" in got.content
        assert c.get("/liveprofiler").status_code == 403
        c.get("/liveprofiler", headers=TOKEN)
        assert c.get("/busy?s=0.3").status_code == 200
        r = c.get("/liveprofiler", headers=TOKEN)
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
        data = check_profile(r.content, INTERVAL)
        assert any(f[-1] == "busy_handler(mw_fasthtml)" for f in stacks_with(data, "busy_handler"))
        assert c.get("/_holter/api/sampler", headers=TOKEN).json()["running"] is True
