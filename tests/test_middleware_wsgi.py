"""holter.wsgi.ProfilingMiddleware under Flask: werkzeug's test client and
werkzeug's real threaded server, in this process.

gunicorn (several worker processes) is in test_middleware_gunicorn.py.
"""
import io
import json
import subprocess
import sys
import threading
import time

import pytest

from conftest import PROGRAMS

flask = pytest.importorskip("flask")
from werkzeug.exceptions import NotFound  # noqa: E402
from werkzeug.middleware.dispatcher import DispatcherMiddleware  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402
from werkzeug.test import Client, EnvironBuilder  # noqa: E402
from werkzeug.wsgi import FileWrapper  # noqa: E402

sys.path.insert(0, str(PROGRAMS))
import mw_flask  # noqa: E402
from mw_support import check_profile, index_of, request, stacks_with, total  # noqa: E402

import holter  # noqa: E402
from holter.wsgi import ProfilingMiddleware  # noqa: E402

SECRET = "s3cret"
INTERVAL = 0.01
TOKEN = {"PROFILER_TOKEN": SECRET}          # becomes HTTP_PROFILER_TOKEN in the test client


@pytest.fixture(scope="module", autouse=True)
def own_sampler():
    """The apps here start the sampler in this process: stop it afterwards."""
    if holter.sampling():
        holter.stop()
    yield
    holter.stop()


@pytest.fixture(scope="module")
def client():
    return Client(mw_flask.create_app(secret=SECRET, interval=INTERVAL))


@pytest.fixture(scope="module")
def server():
    """Werkzeug's own threaded server: each request runs in a new thread."""
    srv = make_server("127.0.0.1", 0, mw_flask.create_app(secret=SECRET, interval=INTERVAL),
                      threaded=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_port
    srv.shutdown()
    t.join(10)


# ---------------------------------------------------------------- pass-through

PASSED = [("GET", "/", None), ("GET", "/nope", None), ("POST", "/echo", b"\x00payload\xff"),
          ("GET", "/file", None), ("GET", "/liveprofiler/", None), ("POST", "/liveprofiler", b""),
          ("HEAD", "/liveprofiler", None), ("GET", "/Liveprofiler", None), ("GET", "/_holterx", None)]


@pytest.mark.parametrize("method,path,body", PASSED)
def test_other_requests_pass_through_unchanged(client, method, path, body):
    bare = Client(mw_flask.create_app(wrap=False))
    want = bare.open(path, method=method, data=body, headers=TOKEN)
    got = client.open(path, method=method, data=body, headers=TOKEN)
    assert got.status == want.status
    assert list(got.headers) == list(want.headers)
    assert got.get_data() == want.get_data()


def test_the_applications_iterable_is_returned_as_is():
    """Streaming, close() and wsgi.file_wrapper: the middleware hands back
    the application's own object, unconsumed."""
    seen = {}

    class Body:
        closed = False

        def __iter__(self):
            yield b"lazy"

        def close(self):
            self.closed = True

    def app(environ, start_response):
        seen["environ"] = environ
        start_response("200 OK", [("Content-Type", "text/plain")])
        if environ["PATH_INFO"] == "/file":
            return environ["wsgi.file_wrapper"](io.BytesIO(b"file body"))
        return Body()

    mw = ProfilingMiddleware(app, interval=INTERVAL, secret_header=SECRET, page_path="/_holter")
    environ = EnvironBuilder(path="/stream").get_environ()
    before = dict(environ)
    body = mw(environ, lambda *a: None)
    assert type(body) is Body and seen["environ"] is environ and environ == before
    body.close()
    assert body.closed
    environ = EnvironBuilder(path="/file").get_environ()
    environ["wsgi.file_wrapper"] = FileWrapper
    body = mw(environ, lambda *a: None)
    assert type(body) is FileWrapper and b"".join(body) == b"file body"


def test_streaming_through_a_real_server(server):
    import http.client
    mw_flask.released.clear()
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    conn.request("GET", "/stream")
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.read1(64) == b"first chunk\n"          # while the app waits
    assert not mw_flask.released.is_set()
    assert request(server, "/release")[0] == 200
    assert resp.read() == b"second chunk\n"
    conn.close()


def test_file_wrapper_through_a_real_server(server):
    status, headers, body = request(server, "/file")
    assert status == 200 and body == mw_flask.FILE_BODY
    assert headers["Content-Type"] == "application/octet-stream"


def test_readme_usage_wrapping_the_flask_object():
    """liveprofiler_sampler's README: app.wsgi_app = ProfilingMiddleware(app, ...)."""
    app = mw_flask.flask_app()
    app.wsgi_app = ProfilingMiddleware(app, interval=INTERVAL, secret_header=SECRET)
    c = app.test_client()
    assert c.get("/").data == b"hello from flask\n"
    r = c.get("/liveprofiler", headers=TOKEN)
    assert r.status_code == 200
    check_profile(r.data)


# ---------------------------------------------------------------- the profile

@pytest.mark.parametrize("headers", [{}, {"PROFILER_TOKEN": "wrong"}, {"PROFILER_TOKEN": SECRET + "x"},
                                     {"PROFILER_TOKEN": ""}, {"X-Holter-Token": SECRET},
                                     {"PROFILER_TOKEN": "s3crét"}])
def test_missing_or_wrong_token_is_403_with_an_empty_body(client, headers):
    r = client.get("/liveprofiler", headers=headers)
    assert r.status_code == 403
    assert r.get_data() == b""


def test_profile_with_token(client):
    client.get("/busy?s=0.2")
    r = client.get("/liveprofiler", headers=TOKEN)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    data = check_profile(r.get_data(), INTERVAL)
    assert total(data) > 0
    # The test client runs the handler in this thread: root first, the
    # view, then busy_handler, then nothing of ours below it.
    [frames, *_] = stacks_with(data, "busy_handler")
    assert frames[-1] == "busy_handler(mw_flask)"
    assert index_of(frames, "wsgi_app") < index_of(frames, "busy") < len(frames) - 1


def test_reads_reset_unless_reset_0(client):
    client.get("/busy?s=0.3")
    first = check_profile(client.get("/liveprofiler?reset=0", headers=TOKEN).get_data())
    time.sleep(0.1)
    second = check_profile(client.get("/liveprofiler?reset=0", headers=TOKEN).get_data())
    assert second["elapsed"] > first["elapsed"]
    assert total(second) >= total(first) > 0
    assert stacks_with(second, "busy_handler")
    third = check_profile(client.get("/liveprofiler", headers=TOKEN).get_data())     # resets
    assert total(third) >= total(second)
    fourth = check_profile(client.get("/liveprofiler", headers=TOKEN).get_data())
    assert fourth["elapsed"] < third["elapsed"]
    assert total(fourth) < total(third)
    assert not stacks_with(fourth, "busy_handler")      # it ran before the reset


def test_real_server_samples_request_threads(server):
    request(server, "/liveprofiler", {"PROFILER-TOKEN": SECRET})      # start clean
    assert request(server, "/busy?s=0.5")[0] == 200
    status, headers, body = request(server, "/liveprofiler", {"PROFILER-TOKEN": SECRET})
    assert status == 200 and headers["Content-Type"] == "application/json"
    data = check_profile(body, INTERVAL)
    busy = stacks_with(data, "busy_handler")
    assert busy, data
    assert sum(s["count"] for s in data["stacks"] if "busy_handler(" in s["frame"]) >= 10
    for frames in busy:
        # A request thread of werkzeug's server, root first.
        assert frames[0] == "_bootstrap(threading)", frames
        assert index_of(frames, "process_request_thread") < index_of(frames, "busy") \
            < index_of(frames, "busy_handler") == len(frames) - 1


def test_real_server_drops_the_underscore_header(server):
    # werkzeug's server (like nginx and gunicorn >= 22) drops header names
    # with an underscore, so PROFILER_TOKEN never reaches the middleware:
    # clients must spell it PROFILER-TOKEN there.
    status, _, body = request(server, "/liveprofiler", {"PROFILER_TOKEN": SECRET})
    assert (status, body) == (403, b"")
    assert request(server, "/liveprofiler", {"PROFILER-TOKEN": SECRET})[0] == 200


def test_mounted_under_a_script_name():
    app = DispatcherMiddleware(NotFound(), {"/sub": mw_flask.create_app(secret=SECRET, interval=INTERVAL)})
    c = Client(app)
    assert c.get("/sub/").get_data() == b"hello from flask\n"
    assert c.get("/sub/liveprofiler", headers=TOKEN).status_code == 200
    r = c.get("/sub/_holter?token=" + SECRET)
    assert r.status_code == 308 and r.headers["Location"] == "/sub/_holter/?token=" + SECRET
    r = c.get("/sub/_holter/?token=" + SECRET)
    assert r.status_code == 200
    assert "Path=/sub/_holter;" in r.headers["Set-Cookie"]


def test_bad_arguments():
    app = mw_flask.flask_app()
    for bad in ("", None):
        with pytest.raises(ValueError):
            ProfilingMiddleware(app, secret_header=bad)
    with pytest.raises(ValueError):
        ProfilingMiddleware(app, path="/_holter/liveprofiler", page_path="/_holter/")
    with pytest.raises(ValueError):
        ProfilingMiddleware(app, page_path="/")


# ---------------------------------------------------------------- the page

def test_page_redirects_to_its_slash(client):
    r = client.get("/_holter")
    assert r.status_code == 308 and r.headers["Location"] == "/_holter/"
    r = client.get("/_holter?token=" + SECRET)
    assert r.headers["Location"] == "/_holter/?token=" + SECRET


@pytest.mark.parametrize("path", ["/_holter/", "/_holter/static/app.js", "/_holter/api/sampler",
                                  "/_holter/api/profile"])
def test_page_needs_the_token(client, path):
    for headers in ({}, {"PROFILER_TOKEN": "nope"}, {"Cookie": "holter_token=" + SECRET}):
        r = client.get(path, headers=headers)
        assert r.status_code == 403
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    r = Client(mw_flask.create_app(secret=SECRET)).get(path + "?token=nope")
    assert r.status_code == 403 and "Set-Cookie" not in r.headers
    if path == "/_holter/":
        assert r.headers["Content-Type"].startswith("text/html") and b"token" in r.get_data()
    else:
        assert r.json == {"error": "missing or wrong token"}


def test_page_with_token_sets_a_cookie_for_the_page():
    c = Client(mw_flask.create_app(secret=SECRET, interval=INTERVAL))
    r = c.get("/_holter/?token=" + SECRET)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert b"static/app.js" in r.get_data()
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("holter_token=") and SECRET not in cookie
    assert {"Path=/_holter", "HttpOnly", "SameSite=Strict"} <= {p.strip() for p in cookie.split(";")}
    for h in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"):
        assert h in r.headers
    # The cookie alone now opens the page's routes.
    r = c.get("/_holter/static/app.js")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/javascript")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    r = c.get("/_holter/api/sampler")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert r.json["running"] is True
    assert c.get("/_holter/api/nothing").status_code == 404


@pytest.mark.parametrize("header", ["PROFILER_TOKEN", "X-Holter-Token"])
def test_page_with_token_header(client, header):
    r = client.get("/_holter/api/sampler", headers={header: SECRET})
    assert r.status_code == 200 and r.json["running"] is True
    assert "Set-Cookie" not in r.headers


def test_page_answers_304_to_if_none_match(client):
    r = client.get("/_holter/api/files", headers=TOKEN)
    assert r.status_code == 200
    etag = r.headers["ETag"]
    assert r.headers["Cache-Control"] == "no-cache"
    r = client.get("/_holter/api/files", headers={**TOKEN, "If-None-Match": etag})
    assert r.status_code == 304 and r.get_data() == b""
    assert r.headers["ETag"] == etag and "Content-Type" not in r.headers


def test_head_has_no_body(client):
    r = client.head("/_holter/api/files", headers=TOKEN)
    assert r.status_code == 200 and r.get_data() == b""
    assert int(r.headers["Content-Length"]) > 0


def test_reset_needs_post_and_the_action_header(client):
    client.get("/busy?s=0.2")
    before = check_profile(client.get("/liveprofiler?reset=0", headers=TOKEN).get_data())
    assert stacks_with(before, "busy_handler")
    assert client.post("/_holter/api/profile/reset").status_code == 403               # no token
    assert client.post("/_holter/api/profile/reset", headers=TOKEN).status_code == 403  # no action
    assert client.put("/_holter/api/profile/reset", headers=TOKEN).status_code == 405
    assert client.post("/_holter/api/sampler", headers=TOKEN).status_code == 405
    assert stacks_with(check_profile(client.get("/liveprofiler?reset=0", headers=TOKEN).get_data()),
                       "busy_handler")
    r = client.post("/_holter/api/profile/reset", headers={**TOKEN, "X-Holter-Action": "reset"})
    assert r.status_code == 200
    after = check_profile(client.get("/liveprofiler?reset=0", headers=TOKEN).get_data())
    assert not stacks_with(after, "busy_handler") and after["elapsed"] < before["elapsed"]


def test_page_through_a_real_server(server):
    status, headers, body = request(server, "/_holter/?token=" + SECRET)
    assert status == 200 and b"static/app.js" in body
    cookie = headers["Set-Cookie"].split(";")[0]
    status, headers, body = request(server, "/_holter/api/sampler", {"Cookie": cookie})
    assert status == 200 and b'"running"' in body
    status, _, _ = request(server, "/_holter/api/sampler")
    assert status == 403


def run_fork(how):
    out = subprocess.run([sys.executable, str(PROGRAMS / "mw_fork.py"), how], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    child, parent = (json.loads(line) for line in out.stdout.splitlines())
    assert child["who"] == "child" and parent["who"] == "parent"
    assert parent["sampling"] is False        # holter.stop() in the parent is respected
    return child


def test_a_forked_worker_without_a_sampler_starts_one():
    """holter restarts a sampler in a forked child by itself; the middleware
    does not rely on it: a worker not sampling on its first request starts."""
    child = run_fork("os")
    assert child["sampling_before"] is False and child["sampling"] is True
    assert child["status"] == 200
    assert stacks_with(check_profile(child["body"].encode(), INTERVAL), "busy_handler")


def test_a_worker_forked_by_libc_samples_itself():
    """uWSGI forks with the C library, without Python's at-fork hooks."""
    child = run_fork("libc")
    assert child["status"] == 200
    assert stacks_with(check_profile(child["body"].encode(), INTERVAL), "busy_handler")
