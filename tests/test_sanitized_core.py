"""The whole C core, built with AddressSanitizer and UBSan, under real load.

The unit tests in tests/c cover the plain-C modules; this builds the
extension itself (hooks, stack snapshots, server, routes, sampler) with the
sanitizers into a temporary copy of the package and runs the counting,
HTTP, CLI and sampler tests against it, with libasan preloaded into an ordinary CPython.
Leak detection is off: CPython itself does not free everything at exit.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAN_FLAGS = "-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -O1 -g"


def libasan() -> str:
    out = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True)
    path = out.stdout.strip()
    if not os.path.isabs(path):
        pytest.fail("gcc cannot find libasan.so")
    return path


@pytest.fixture(scope="module")
def sanitized_tree(tmp_path_factory) -> Path:
    """A copy of src/ whose holter._core is built with the sanitizers."""
    tmp = tmp_path_factory.mktemp("asan")
    src = tmp / "src"
    shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp / name)
    env = {**os.environ, "HOLTER_CFLAGS": SAN_FLAGS, "HOLTER_LDFLAGS": "-fsanitize=address,undefined"}
    build = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                           cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    assert list((src / "holter").glob("_core*.so"))
    return src


def test_counts_and_http_suites_pass_under_asan_and_ubsan(sanitized_tree):
    env = {
        **os.environ,
        "PYTHONPATH": str(sanitized_tree),
        "LD_PRELOAD": libasan(),
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        "PYTHONMALLOC": "malloc",          # let ASan see every allocation
    }
    check = subprocess.run([sys.executable, "-c", "import holter, sys; print(holter.__file__)"],
                           env=env, capture_output=True, text=True, timeout=60)
    assert check.stdout.startswith(str(sanitized_tree)), check.stdout + check.stderr
    tests = [str(ROOT / "tests" / t)
             for t in ("test_counts.py", "test_http.py", "test_cli.py", "test_sampler.py")]
    # What measures time or memory runs in the plain suite only: ASan slows
    # the program unevenly and keeps freed memory in quarantine.
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-k", "not memory_constant and not accuracy and not short_bursts",
                          *tests],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    report = run.stdout[-6000:] + run.stderr[-6000:]
    assert run.returncode == 0, report
    assert "AddressSanitizer" not in report and "runtime error" not in report, report
