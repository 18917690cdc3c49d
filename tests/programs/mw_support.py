"""Helpers shared by the middleware tests: checking a liveprofiler profile,
and talking HTTP to servers started in a thread or a subprocess."""
from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import time

# liveprofiler_sampler's frame: co_name(module __name__), no file, no line.
FRAME = re.compile(r"[^;()]+\([^;()]*\)")


def check_profile(body: bytes, granularity: float | None = None) -> dict:
    """Parses a liveprofiler body and checks its exact shape; returns it."""
    data = json.loads(body)
    assert set(data) == {"elapsed", "granularity", "stacks"}, data.keys()
    assert isinstance(data["elapsed"], float) and data["elapsed"] >= 0
    assert isinstance(data["granularity"], float) and data["granularity"] > 0
    if granularity is not None:
        assert abs(data["granularity"] - granularity) < 1e-9, data["granularity"]
    counts = []
    for s in data["stacks"]:
        assert set(s) == {"count", "frame"}, s
        assert isinstance(s["count"], int) and s["count"] > 0, s
        assert all(FRAME.fullmatch(f) for f in s["frame"].split(";")), s["frame"]
        counts.append(s["count"])
    assert counts == sorted(counts, reverse=True), "stacks not sorted by count desc"
    assert len({s["frame"] for s in data["stacks"]}) == len(data["stacks"]), "duplicate stacks"
    return data


def total(data: dict) -> int:
    return sum(s["count"] for s in data["stacks"])


def stacks_with(data: dict, func: str) -> list[list[str]]:
    """The stacks (as frame lists, root first) with a frame of `func`."""
    return [s["frame"].split(";") for s in data["stacks"]
            if any(f.startswith(func + "(") for f in s["frame"].split(";"))]


def index_of(frames: list[str], func: str) -> int:
    return next(i for i, f in enumerate(frames) if f.startswith(func + "("))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET",
            body: bytes | None = None, timeout: float = 30) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on a fresh connection; redirects are not followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def wait_until_serving(port: int, proc: subprocess.Popen | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            status, _, _ = request(port, "/pid", timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"nothing serving on port {port} after {timeout} s")


def stop_server(proc: subprocess.Popen) -> str:
    """Stops a server subprocess (SIGTERM, then SIGKILL); returns its stderr."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.stderr.read().decode(errors="replace") if proc.stderr else ""


def worker_profiles(port: int, secret: str, workers: int, timeout: float = 60) -> dict[str, list[dict]]:
    """Profiles read (with ?reset=0) from every worker of a pre-forking
    server serving mw_flask, after each worker ran busy_handler: {pid:
    [profile, ...]}, the pid coming from the X-Worker-Pid header. Stops
    once every worker showed busy_handler, or gave 8 profiles without it."""
    import concurrent.futures

    def get(path: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
        status, h, body = request(port, path, headers)
        return status, h.get("X-Worker-Pid", ""), body

    deadline = time.monotonic() + timeout
    with concurrent.futures.ThreadPoolExecutor(2 * workers) as pool:
        # CPU-bound requests, several at a time, until each worker ran some.
        busy: set[str] = set()
        while len(busy) < workers:
            assert time.monotonic() < deadline, f"busy requests reached only {busy}"
            for status, pid, _ in pool.map(lambda _: get("/busy?s=0.15"), range(2 * workers)):
                assert status == 200
                busy.add(pid)
        # A busy request next to each read keeps one worker occupied, so
        # the others take turns answering.
        profiles: dict[str, list[dict]] = {}

        def done(pid: str) -> bool:
            ps = profiles.get(pid, [])
            return any(stacks_with(p, "busy_handler") for p in ps) or len(ps) >= 8

        while not all(done(pid) for pid in busy):
            assert time.monotonic() < deadline, {pid: len(ps) for pid, ps in profiles.items()}
            side = pool.submit(get, "/busy?s=0.05")
            status, pid, body = get("/liveprofiler?reset=0", {"PROFILER-TOKEN": secret})
            assert status == 200, body
            profiles.setdefault(pid, []).append(check_profile(body))
            side.result()
    assert set(profiles) == busy, (set(profiles), busy)
    return profiles
