"""The real server, over real sockets: routes, caching, access control and
hostile input."""
import json
import socket
import time

import pytest

from conftest import PROGRAMS, marks

SERVED = PROGRAMS / "served.py"
LATIN1 = PROGRAMS / "latin1_mod.py"


@pytest.fixture
def served(serve_program):
    prog = serve_program("served.py")
    yield prog
    assert prog.finish() == 0


def file_entry(prog, path):
    [entry] = [f for f in prog.json("/api/files")["files"] if f["path"] == str(path)]
    return entry


def raw_request(port, data: bytes, timeout=5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (socket.timeout, ConnectionResetError):
            pass
    return b"".join(chunks)


def test_page_and_assets_are_served_from_the_package(served):
    status, headers, body = served.get("/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert b"static/app.js" in body
    status, headers, _ = served.get("/static/app.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_status(served):
    st = served.json("/api/status")
    assert st["tracing"] is True
    assert st["hook"] in ("settrace", "sys.monitoring")
    assert st["files"] >= 2 and st["line_events"] > 0 and st["hook_errors"] == 0


def test_files_lists_traced_files_with_source_decoded_to_utf8(served):
    paths = {f["path"] for f in served.json("/api/files")["files"]}
    assert str(SERVED) in paths and str(LATIN1) in paths     # caller, and `# holter`
    assert not any("threading.py" in p for p in paths)
    entry = file_entry(served, LATIN1)
    src = served.json(f"/api/files/{entry['id']}/source")
    assert 'GREETING = "café crème"' in src["source"]
    assert entry["lines"] == len(LATIN1.read_bytes().splitlines())
    lines = served.json(f"/api/files/{entry['id']}/lines")
    assert [marks(LATIN1)["shout"], 3] in lines["hits"]


def test_unchanged_resources_answer_304(served):
    entry = file_entry(served, LATIN1)        # nothing runs in it any more
    for path in ("/api/files/%d/lines" % entry["id"], "/api/files/%d/source" % entry["id"]):
        status, headers, _ = served.get(path)
        assert status == 200
        status, _, body = served.get(path, {"If-None-Match": headers["ETag"]})
        assert (status, body) == (304, b"")


def test_etag_changes_when_counts_change(served):
    entry = file_entry(served, LATIN1)
    path = "/api/files/%d/lines" % entry["id"]
    _, headers, _ = served.get(path)
    assert served.get(path, {"If-None-Match": headers["ETag"]})[0] == 304
    served.proc.stdin.write("shout\n")
    served.proc.stdin.flush()
    assert served.proc.stdout.readline() == "done\n"
    status, _, body = served.get(path, {"If-None-Match": headers["ETag"]})
    assert status == 200
    assert [marks(LATIN1)["shout"], 5] in json.loads(body)["hits"]


def test_stacks_show_every_thread_with_positions(served):
    stacks = served.json("/api/stacks")
    by_name = {t["name"]: t for t in stacks["threads"]}
    assert "MainThread" in by_name and "parked-worker" in by_name
    frames = by_name["parked-worker"]["frames"]
    # Outermost first: threading's bootstrap, then park(), then Event.wait.
    assert "_bootstrap" in frames[0]["qualname"]
    park = [f for f in frames if f["qualname"] == "park"]
    assert len(park) == 1
    src_id = file_entry(served, SERVED)["id"]
    assert park[0]["file_id"] == src_id
    assert park[0]["line"] == marks(SERVED)["park"]
    sl, sc, el, ec = park[0]["pos"]
    line = SERVED.read_text().splitlines()[sl - 1]
    assert line.encode()[sc:ec] == b"release.wait()"
    assert all(f["file_id"] is None for f in frames if "threading" in f["path"])


def test_stacks_304_when_nothing_moved(served):
    status, headers, _ = served.get("/api/stacks")
    assert status == 200
    time.sleep(0.3)                # the next snapshot finds the same stacks
    status, _, _ = served.get("/api/stacks", {"If-None-Match": headers["ETag"]})
    assert status == 304


@pytest.mark.parametrize("path", [
    "/api/files/999/source", "/api/files/-1/source", "/api/files/0x0/source",
    "/api/files/1e0/source", "/api/files/0/../../../../etc/passwd",
    "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2fetc%2fpasswd", "/file/?filename=/etc/passwd",
    "/etc/passwd", "/api/files/00000000000000000000000000001/source",
    "/static/%ff%fe", "/api/%00",
])
def test_no_path_reads_another_file(served, path):
    status, headers, body = served.get(path)
    assert status == 404
    assert b"root:" not in body
    assert headers["Content-Type"].startswith("application/json")


def test_foreign_host_header_is_refused(served):
    status, _, body = served.get("/api/status", {"Host": "evil.example:80"})
    assert status == 403 and b"loopback" in body
    status, _, _ = served.get("/api/status", {"Host": f"localhost:{served.first['port']}"})
    assert status == 200


def test_only_get_and_head(served):
    port = served.first["port"]
    reply = raw_request(port, b"POST /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              b"Content-Length: 5\r\nConnection: close\r\n\r\nhello")
    assert reply.startswith(b"HTTP/1.1 405")
    reply = raw_request(port, b"HEAD /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"\r\n\r\n")


def test_hostile_requests_harm_nothing(served):
    port = served.first["port"]
    reply = raw_request(port, b"\x00\xff garbage \r\n\r\n")
    assert reply == b"" or reply.startswith(b"HTTP/1.1 400")
    huge = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"
    reply = raw_request(port, huge)
    assert reply == b"" or reply.split(b" ")[1] in (b"400", b"413", b"431")
    reply = raw_request(port, b"GET /" + b"x" * 100_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert reply == b"" or reply.split(b" ")[1] in (b"400", b"404", b"414")
    # A pile of idle connections, then closed: the server still answers.
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(100)]
    for s in idle:
        s.close()
    for _ in range(50):
        status, _, _ = served.get("/api/status")
        if status == 200:
            break
        time.sleep(0.1)
    assert status == 200
    assert served.proc.poll() is None


def test_token_required_off_loopback(serve_program):
    prog = serve_program("served.py", SERVE_HOST="0.0.0.0")
    token = prog.first["token"]
    assert token and len(token) >= 16 and prog.url.endswith(f"/?token={token}")
    base = prog.url.split("?")[0]
    prog.url = base
    status, _, body = prog.get("/api/status")
    assert status == 403 and json.loads(body) == {"error": "missing or wrong token"}
    status, headers, body = prog.get("/")
    assert status == 403 and headers["Content-Type"].startswith("text/html")
    assert b"the URL that holter printed" in body
    assert prog.get("/static/app.js")[0] == 403
    assert prog.get("/api/status", {"X-Holter-Token": token + "x"})[0] == 403
    assert prog.get("/api/status", {"X-Holter-Token": token})[0] == 200
    status, headers, _ = prog.get(f"/?token={token}")
    assert status == 200
    cookie = headers["Set-Cookie"]
    assert cookie.startswith(f"holter_token={token};") and "HttpOnly" in cookie
    assert prog.get("/api/files", {"Cookie": f"holter_token={token}"})[0] == 200
    assert prog.finish() == 0


def test_given_token_is_enforced_on_loopback_too(serve_program):
    prog = serve_program("served.py", SERVE_TOKEN="s3cret-token-value")
    assert prog.url.endswith("?token=s3cret-token-value")
    prog.url = prog.url.split("?")[0]
    assert prog.get("/api/status")[0] == 403
    assert prog.get("/api/status?token=s3cret-token-value")[0] == 200
    assert prog.finish() == 0


def test_port_in_use_is_a_clear_error(served):
    import subprocess
    import sys
    code = ("import holter\n"
            f"try:\n    holter.trace(port={served.first['port']}, quiet=True)\n"
            "except OSError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    assert f"port {served.first['port']} on 127.0.0.1 is in use" in out.stdout


def test_server_keeps_serving_across_fork():
    """Our threads step aside while a single-threaded program forks (3.12+
    warns about threads at fork) and come back once the fork returned; the
    child never serves the parent's port."""
    import subprocess
    import sys
    import urllib.request
    code = (
        "import os, sys, urllib.request, holter\n"
        "t = holter.trace(port=0, quiet=True)\n"
        "for _ in range(3):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os._exit(0 if holter.status()['serving'] is False else 9)\n"
        "    _, st = os.waitpid(pid, 0)\n"
        "    assert os.waitstatus_to_exitcode(st) == 0\n"
        "    body = urllib.request.urlopen(t.url + 'api/status', timeout=10).read()\n"
        "    assert b'\"tracing\":true' in body, body\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True,
                         text=True, timeout=60)
    assert (out.returncode, out.stdout, out.stderr) == (0, "ok\n", "")
