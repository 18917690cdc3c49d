"""holter.wsgi.ProfilingMiddleware under gunicorn, 2 worker processes:
every worker samples itself and answers with its own profile, whether the
application is loaded in each worker or once in the master (--preload)."""
import os
import subprocess
import sys
import time

import pytest

from conftest import PROGRAMS

pytest.importorskip("flask")
gunicorn = pytest.importorskip("gunicorn")

sys.path.insert(0, str(PROGRAMS))
from mw_support import (check_profile, free_port, request, stacks_with, stop_server,  # noqa: E402
                        worker_profiles)

SECRET = "s3cret"
INTERVAL = 0.01
WORKERS = 2


def gunicorn_version() -> tuple[int, ...]:
    return tuple(int(p) for p in gunicorn.__version__.split(".")[:2])


@pytest.fixture
def start_gunicorn():
    started = []

    def start(*args: str) -> int:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
             "--workers", str(WORKERS), "--chdir", str(PROGRAMS), "--timeout", "60",
             "--log-level", "warning", *args, "mw_flask:create_app()"],
            env={**os.environ, "HOLTER_MW_SECRET": SECRET, "HOLTER_MW_INTERVAL": str(INTERVAL)},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, stop_server(proc)
            try:
                if request(port, "/pid", timeout=2)[0] == 200:
                    return port
            except OSError:
                time.sleep(0.05)
        raise AssertionError("gunicorn did not start")

    yield start
    for proc in started:
        err = stop_server(proc)
        assert "Traceback" not in err, err


def get(port, path, headers=None):
    status, headers, body = request(port, path, headers)
    return status, headers.get("X-Worker-Pid"), body


@pytest.mark.parametrize("preload", [False, True], ids=["load-in-workers", "preload"])
@pytest.mark.parametrize("workers", [["--worker-class", "sync"],
                                     ["--worker-class", "gthread", "--threads", "4"]],
                         ids=["sync", "gthread"])
def test_every_worker_profiles_itself(start_gunicorn, workers, preload):
    port = start_gunicorn(*workers, *(["--preload"] if preload else []))
    profiles = worker_profiles(port, SECRET, WORKERS)
    assert len(profiles) == WORKERS
    for pid, ps in profiles.items():
        assert all(p["elapsed"] > 0 and p["granularity"] == INTERVAL for p in ps), pid
        busy = [f for p in ps for f in stacks_with(p, "busy_handler")]
        assert busy, f"worker {pid} answered without busy_handler: {ps[-1]}"
        assert busy[-1][-1] == "busy_handler(mw_flask)"
        if "gthread" in workers:
            # gthread runs requests in a thread pool, never the main thread.
            assert busy[-1][0] == "_bootstrap(threading)", busy[-1]
    # Without the token, every worker refuses.
    for _ in range(4):
        status, _, body = get(port, "/liveprofiler")
        assert (status, body) == (403, b"")


def test_underscore_header_under_gunicorn(start_gunicorn):
    """gunicorn >= 22 drops header names with an underscore by default
    (--header-map drop), so PROFILER_TOKEN never reaches the application
    and the answer is 403: send PROFILER-TOKEN. --header-map dangerous
    restores the old mapping."""
    port = start_gunicorn("--worker-class", "sync")
    status, _, body = get(port, "/liveprofiler", {"PROFILER_TOKEN": SECRET})
    if gunicorn_version() >= (22, 0):
        assert (status, body) == (403, b"")
    else:
        assert status == 200
    status, _, body = get(port, "/liveprofiler", {"PROFILER-TOKEN": SECRET})
    assert status == 200
    check_profile(body, INTERVAL)
    if gunicorn_version() < (22, 0):
        return
    port = start_gunicorn("--worker-class", "sync", "--header-map", "dangerous")
    status, _, body = get(port, "/liveprofiler", {"PROFILER_TOKEN": SECRET})
    assert status == 200
