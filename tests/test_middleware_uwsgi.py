"""holter.wsgi.ProfilingMiddleware under uWSGI, 2 worker processes.

uWSGI loads the application in the master and forks its workers with the C
library's fork(), so Python's os.register_at_fork() hooks do not run in
them unless --py-call-osafterfork (or --lazy-apps, which loads the
application in each worker). liveprofiler_sampler needed both options.

Skipped unless the uwsgi binary sits next to this Python (pip install uwsgi).
"""
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import PROGRAMS

pytest.importorskip("flask")
UWSGI = shutil.which("uwsgi", path=os.path.dirname(sys.executable))
if UWSGI is None:
    pytest.skip("uwsgi is not installed in this environment", allow_module_level=True)

sys.path.insert(0, str(PROGRAMS))
from mw_support import free_port, request, stacks_with, stop_server, worker_profiles  # noqa: E402

SECRET = "s3cret"
WORKERS = 2


@pytest.mark.parametrize("options", [
    pytest.param([], id="prefork"),
    pytest.param(["--py-call-osafterfork"], id="py-call-osafterfork", marks=pytest.mark.skipif(
        sys.version_info >= (3, 13), reason="uWSGI's --py-call-osafterfork aborts every worker on "
        "3.13 (Fatal Python error in _PyRecursiveMutex_Unlock) even for a plain app without holter")),
    pytest.param(["--lazy-apps"], id="lazy-apps"),
])
def test_every_worker_profiles_itself(options):
    port = free_port()
    proc = subprocess.Popen(
        [UWSGI, "--http-socket", f"127.0.0.1:{port}", "--master", "--processes", str(WORKERS),
         "--wsgi-file", str(PROGRAMS / "mw_uwsgi.py"), "--need-app", "--die-on-term",
         "--disable-logging", *options],
        env={**os.environ, "HOLTER_MW_SECRET": SECRET, "HOLTER_MW_INTERVAL": "0.01"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "uwsgi did not start"
            try:
                if request(port, "/pid", timeout=2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        profiles = worker_profiles(port, SECRET, WORKERS)
    finally:
        err = stop_server(proc)
    assert "Traceback" not in err, err
    for pid, ps in profiles.items():
        assert any(stacks_with(p, "busy_handler") for p in ps), f"worker {pid} did not sample itself"
