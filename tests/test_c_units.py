"""Build and run the C unit tests in tests/c/, one pytest test per file.

Each tests/c/test_<module>.c is a standalone program (see tests/c/ctest.h).
It is compiled with AddressSanitizer and UndefinedBehaviorSanitizer into a
temporary directory, then run in a child process, so that a crash is one
failed test and not a dead pytest run.  It passes if it exits with 0 and its
output ends with "0 failed".

What a test links with is written in comments near its top, so adding
tests/c/test_foo.c needs no change here::

    /* ctest-sources: foo.c bar.c */     relative to src/holter/_core
    /* ctest-cflags: -DFOO_TEST_HOOKS */  added to the compile line
    /* ctest-ldflags: -lpthread */        added to the link line

A word in ctest-sources that starts with "-" is taken as a linker flag.
CC overrides the compiler (default gcc); CTEST_SEED is passed through to
replay a randomised run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "src" / "holter" / "_core"
CTESTS = Path(__file__).resolve().parent / "c"

CFLAGS = [
    "-std=c11",
    "-g",
    "-O1",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-fsanitize=address,undefined",
    "-fno-omit-frame-pointer",
    "-fno-sanitize-recover=all",
    f"-I{CORE}",
    f"-I{CTESTS}",
]

RUN_TIMEOUT = 300  # seconds; a hung test is a failed test
HEADER_LINES = 20  # directives are looked for in this many first lines

DIRECTIVE = re.compile(r"ctest-(sources|cflags|ldflags):(.*?)(?:\*/|$)")


def compiler() -> str:
    """Path of the C compiler: $CC, else gcc."""
    cc = os.environ.get("CC", "gcc")
    path = shutil.which(cc)
    if path is None:
        # Deliberately a failure, not a skip: CI must not pass without the
        # C tests having run.
        pytest.fail(f"C compiler {cc!r} not found (set CC)")
    return path


def directives(test_file: Path) -> tuple[list[Path], list[str], list[str]]:
    """Sources, extra compile flags and link flags named by a test file."""
    sources: list[Path] = []
    cflags: list[str] = []
    ldflags: list[str] = []
    with test_file.open(encoding="utf-8") as f:
        head = [next(f, "") for _ in range(HEADER_LINES)]
    for line in head:
        for kind, value in DIRECTIVE.findall(line):
            words = shlex.split(value)
            if kind == "cflags":
                cflags += words
            elif kind == "ldflags":
                ldflags += words
            else:
                for word in words:
                    if word.startswith("-"):
                        ldflags.append(word)
                    else:
                        src = CORE / word
                        if not src.is_file():
                            pytest.fail(f"{test_file.name}: no such source {src}")
                        sources.append(src)
    return sources, cflags, ldflags


def sanitizer_env(detect_leaks: bool) -> dict[str, str]:
    """Environment for a test run: sanitizers abort on the first error."""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = f"detect_leaks={int(detect_leaks)}:abort_on_error=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    return env


@pytest.fixture(scope="session")
def leaks_detectable(tmp_path_factory: pytest.TempPathFactory) -> bool:
    """Can LeakSanitizer run here?

    LSan stops the process under ptrace to scan its memory; under some
    debuggers, sandboxes and containers (ptrace restrictions, seccomp) that
    fails and every run would die with "LeakSanitizer has encountered a fatal
    error".  Find out once with a program that leaks on purpose: if the leak
    is reported, leak checking stays on; if not, the C tests run with
    detect_leaks=0 rather than all failing for a reason that is not theirs.
    """
    d = tmp_path_factory.mktemp("lsan-probe")
    src = d / "leak.c"
    src.write_text(
        "#include <stdlib.h>\n"
        "void *volatile keep;\n"
        "int main(void) { keep = malloc(16); keep = 0; return 0; }\n"
    )
    exe = d / "leak"
    subprocess.run(
        [compiler(), "-g", "-fsanitize=address", str(src), "-o", str(exe)],
        check=True,
        capture_output=True,
    )
    env = sanitizer_env(detect_leaks=True)
    env["ASAN_OPTIONS"] = "detect_leaks=1"
    proc = subprocess.run(
        [str(exe)], env=env, capture_output=True, text=True, timeout=60
    )
    return "detected memory leaks" in proc.stderr


def c_tests() -> list[Path]:
    """Every tests/c/test_*.c, in name order."""
    return sorted(CTESTS.glob("test_*.c"))


@pytest.mark.parametrize("test_file", c_tests(), ids=lambda p: p.stem)
def test_c_unit(
    test_file: Path, tmp_path: Path, leaks_detectable: bool
) -> None:
    """Build one C test with the sanitizers, run it, want "0 failed"."""
    sources, cflags, ldflags = directives(test_file)
    exe = tmp_path / test_file.stem
    cmd = [
        compiler(),
        *CFLAGS,
        *cflags,
        str(test_file),
        *map(str, sources),
        "-o",
        str(exe),
        *ldflags,
    ]
    build = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert build.returncode == 0, (
        f"build failed: {shlex.join(cmd)}\n{build.stdout}{build.stderr}"
    )

    if not leaks_detectable:
        print("LeakSanitizer cannot run here (ptrace restricted?): "
              "running with detect_leaks=0")
    proc = subprocess.run(
        [str(exe)],
        cwd=tmp_path,
        env=sanitizer_env(leaks_detectable),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=RUN_TIMEOUT,
    )
    report = (
        f"{exe.name} exited with {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout[-20000:]}\n"
        f"--- stderr ---\n{proc.stderr[-20000:]}"
    )
    assert proc.returncode == 0, report
    assert proc.stdout.rstrip().endswith(" 0 failed"), report
    print(proc.stdout.rstrip().splitlines()[-1])
