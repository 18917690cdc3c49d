"""The first law: holter never changes the behaviour of the program it watches.

Each program in tests/programs/transparency_*.py runs for real, in a child
process, once plainly (``python prog.py``) and once watched, and the two runs
must agree: the same stdout byte for byte, the same exit status, and the
same stderr once holter's own ``holter: watching this program at ...`` line
is taken out. A program is watched in one of these ways:

- ``trace``: with HOLTER_TEST=1 in its environment, the program calls
  ``holter.trace(port=0)`` itself (``HOLTER_TEST=quiet`` adds ``quiet=True``);
- ``cli``: it runs as ``python -m holter run --port 0 [--quiet] prog.py``;
- ``cli-m``: it runs as ``python -m holter run --port 0 [--quiet] -m prog``,
  and is compared with ``python -m prog`` (mode ``plain-m``).

Every child runs in its own process group with a timeout; on a timeout the
whole group is killed (a forked grandchild included) and the test fails as a
hang. Synchronisation with a child goes through its stdout, never a sleep.

Two programs, transparency_sessions.py and transparency_prestarted.py, use
holter directly and print what it counted; those tests check the printout.
"""
from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

PROGRAMS = Path(__file__).resolve().parent / "programs"
HOLTER_LINE = re.compile(rb"^holter: watching this program at http://127\.0\.0\.1:\d+/\n", re.M)
TIMEOUT = 30            # seconds: far above any program's run time, so only a hang hits it

WATCHED = ["trace", "cli"]


@dataclass
class Run:
    """One finished run of a program."""
    mode: str           # how it ran: "plain", "trace", "cli", ...
    returncode: int     # negative: killed by that signal
    stdout: bytes
    stderr: bytes       # b"" when merged into stdout
    elapsed: float      # seconds, start to exit


def _command(name: str, args: tuple[str, ...], mode: str, quiet: bool) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run program `name` in `mode`
    ("plain", "trace", "cli", "plain-m" or "cli-m"); the working directory
    is PROGRAMS, so `-m` finds the programs."""
    path = str(PROGRAMS / name)
    module = name.removesuffix(".py")
    # Without PYTHONUNBUFFERED the programs' stdout is a block-buffered pipe,
    # as it is for most programs: what holter does to the buffer shows.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED", "HOLTER_TEST")}
    if mode == "plain":
        return [sys.executable, path, *args], env
    if mode == "trace":
        env["HOLTER_TEST"] = "quiet" if quiet else "1"
        return [sys.executable, path, *args], env
    if mode == "cli":
        return [sys.executable, "-m", "holter", "run", "--port", "0",
                *(["--quiet"] if quiet else []), path, *args], env
    if mode == "plain-m":
        return [sys.executable, "-m", module, *args], env
    if mode == "cli-m":
        return [sys.executable, "-m", "holter", "run", "--port", "0",
                *(["--quiet"] if quiet else []), "-m", module, *args], env
    raise ValueError(mode)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start_program(name: str, *args: str, mode: str, quiet: bool = False,
                  merge_stderr: bool = False) -> subprocess.Popen[bytes]:
    """Starts a program in its own process group, stdout and stderr piped."""
    cmd, env = _command(name, args, mode, quiet)
    return subprocess.Popen(cmd, env=env, cwd=PROGRAMS, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                            start_new_session=True)


def finish(proc: subprocess.Popen[bytes], mode: str, started: float,
           timeout: float = TIMEOUT) -> Run:
    """Waits for a program started by start_program; a hang fails the test."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)       # a forked child holding the pipes included
        out, err = proc.communicate()
        pytest.fail(f"{mode}: still running after {timeout} s (hung)\n"
                    f"stdout: {out!r}\nstderr: {err!r}")
    return Run(mode, proc.returncode, out, err or b"", time.monotonic() - started)


def run_program(name: str, *args: str, mode: str, quiet: bool = False,
                merge_stderr: bool = False, timeout: float = TIMEOUT) -> Run:
    """Runs tests/programs/`name` with `args` to its end in `mode`."""
    started = time.monotonic()
    proc = start_program(name, *args, mode=mode, quiet=quiet, merge_stderr=merge_stderr)
    return finish(proc, mode, started, timeout)


def without_holter_line(stderr: bytes) -> bytes:
    """stderr without holter's own line, which must appear at most once."""
    assert len(HOLTER_LINE.findall(stderr)) <= 1, stderr
    return HOLTER_LINE.sub(b"", stderr)


def assert_same(plain: Run, watched: Run,
                normalize: Callable[[bytes], bytes] = lambda b: b) -> None:
    """Same stdout, exit status and stderr (but holter's line)."""
    assert watched.stdout == plain.stdout, f"{watched.mode}: stdout differs"
    assert watched.returncode == plain.returncode, (
        f"{watched.mode}: exit status differs\nstderr: {watched.stderr.decode(errors='replace')}")
    assert normalize(without_holter_line(watched.stderr)) == normalize(plain.stderr), (
        f"{watched.mode}: stderr differs")


def compare(name: str, *args: str, mode: str, quiet: bool = False) -> tuple[Run, Run]:
    """Runs `name` plainly and in `mode`, asserts the runs agree, returns both."""
    plain = run_program(name, *args, mode="plain-m" if mode == "cli-m" else "plain")
    watched = run_program(name, *args, mode=mode, quiet=quiet)
    assert_same(plain, watched)
    return plain, watched


# --- 1-4: threads, recursion, generators, asyncio -------------------------

@pytest.mark.parametrize("mode", [*WATCHED, "cli-m"])
def test_200_threads(mode: str) -> None:
    plain, _ = compare("transparency_threads.py", mode=mode)
    assert plain.returncode == 0
    assert b"threads: 200\n" in plain.stdout
    assert b"alive after join: 1\n" in plain.stdout


@pytest.mark.parametrize("mode", WATCHED)
def test_recursion_900_deep_and_recursion_error(mode: str) -> None:
    plain, _ = compare("transparency_recursion.py", mode=mode)
    assert plain.returncode == 0
    assert b"depth(900) = 900\n" in plain.stdout
    assert b"caught RecursionError: maximum recursion depth exceeded" in plain.stdout
    assert b"still works after: 100\n" in plain.stdout


def test_recursion_error_at_the_same_depth_under_trace() -> None:
    """holter.trace() takes no stack: the RecursionError comes at the same
    frame as without it."""
    plain = run_program("transparency_recursion.py", "--deepest", mode="plain")
    watched = run_program("transparency_recursion.py", "--deepest", mode="trace")
    assert_same(plain, watched)


@pytest.mark.xfail(strict=True, reason="known limit: `holter run` itself needs a few frames "
                   "(its entry point and runpy's) below the script; trace() has none")
def test_recursion_error_at_the_same_depth_under_cli() -> None:
    """`holter run` runs the script below its own and runpy's frames, which
    count against the recursion limit; the program must still be able to go
    exactly as deep as under `python prog.py`."""
    plain = run_program("transparency_recursion.py", "--deepest", mode="plain")
    watched = run_program("transparency_recursion.py", "--deepest", mode="cli")
    assert_same(plain, watched)


@pytest.mark.parametrize("mode", WATCHED)
def test_generators(mode: str) -> None:
    plain, _ = compare("transparency_generators.py", mode=mode)
    assert plain.returncode == 0
    assert b"early, resumed after trace: [4, 9, 16, 25, 36, 49]\n" in plain.stdout
    assert b"yield from averages: [2.0, 15.0, 7.0]\n" in plain.stdout
    assert b"closed early: ['GeneratorExit', 'finally']" in plain.stdout


@pytest.mark.parametrize("mode", WATCHED)
def test_asyncio(mode: str) -> None:
    plain, _ = compare("transparency_asyncio.py", mode=mode)
    assert plain.returncode == 0
    assert b"finish order: ['fast', 'mid', 'slow']\n" in plain.stdout
    assert b"timed out\n" in plain.stdout
    assert b"cancelled: True forever cancelled\n" in plain.stdout
    assert b"main: done\n" in plain.stdout


# --- 5: fork --------------------------------------------------------------

# Python 3.12+ warns when a multi-threaded process forks; the message holds a pid.
_PID = re.compile(rb"pid=\d+")


@pytest.mark.parametrize("mode", WATCHED)
@pytest.mark.parametrize("scenario, child_code", [("exit7", 7), ("sysexit3", 3), ("threads", 4)])
def test_fork(mode: str, scenario: str, child_code: int) -> None:
    """The child ends as told and the parent sees it; neither hangs. On 3.12+
    a fork with threads running warns, so holter's own native threads must
    not make a single-threaded program's fork warn."""
    plain = run_program("transparency_fork.py", scenario, mode="plain")
    watched = run_program("transparency_fork.py", scenario, mode=mode, quiet=False)
    assert plain.returncode == 0
    assert f"child exit code: {child_code}\n".encode() in plain.stdout
    if scenario != "exit7":
        assert b"child atexit ran, pid is the child's: True\n" in plain.stdout
    assert_same(plain, watched, normalize=lambda b: _PID.sub(b"pid=N", b))


# --- 6: exit paths ---------------------------------------------------------

@pytest.mark.parametrize("mode", [*WATCHED, "cli-m"])
@pytest.mark.parametrize("how, code", [("exit0", 0), ("exit5", 5), ("message", 1),
                                       ("raise", 1), ("end", 0)])
def test_exit_paths(mode: str, how: str, code: int) -> None:
    plain, _ = compare("transparency_exit.py", how, mode=mode)
    assert plain.returncode == code
    assert plain.stdout.endswith(b"atexit handler ran\n")
    if how == "message":
        assert plain.stderr == b"fatal: the message goes to stderr\n"
    if how == "raise":
        lines = plain.stderr.decode().splitlines()
        assert lines[0] == "Traceback (most recent call last):"
        assert lines[-1] == "RuntimeError: could not load ['1', '2', 'three']"
        assert "ValueError: invalid literal for int() with base 10: 'three'" in lines


# --- 7: SIGINT -------------------------------------------------------------

def _interrupt(mode: str, how: str) -> Run:
    """Starts transparency_sigint.py, waits for its "ready" line (written to
    fd 1 while a line waits in the stdout buffer), sends SIGINT."""
    started = time.monotonic()
    proc = start_program("transparency_sigint.py", how, mode=mode, quiet=False)
    first = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + TIMEOUT
        while not first.endswith(b"\n") and time.monotonic() < deadline:
            if sel.select(timeout=deadline - time.monotonic()):
                chunk = os.read(proc.stdout.fileno(), 1)
                if not chunk:
                    break
                first += chunk
    if first != b"ready\n":
        _kill_group(proc)
        pytest.fail(f"{mode}: expected 'ready', got {first!r}; stderr: {proc.stderr.read()!r}")
    proc.send_signal(signal.SIGINT)
    run = finish(proc, mode, started)
    run.stdout = first + run.stdout
    return run


def _traceback_shape(stderr: bytes) -> tuple[str, str, set[str]]:
    """First line, last line, and the files named in a traceback."""
    lines = stderr.decode().splitlines()
    files = set(re.findall(r'^  File "([^"]+)"', stderr.decode(), re.M))
    return lines[0], lines[-1], files


@pytest.mark.parametrize("mode", WATCHED)
def test_sigint_uncaught(mode: str) -> None:
    plain = _interrupt("plain", "uncaught")
    watched = _interrupt(mode, "uncaught")
    assert plain.returncode == -signal.SIGINT
    assert plain.stdout == (b"ready\nstill in the stdout buffer\n"
                            b"finally block ran\natexit handler ran\n")
    shape = _traceback_shape(plain.stderr)
    assert shape == ("Traceback (most recent call last):", "KeyboardInterrupt",
                     {str(PROGRAMS / "transparency_sigint.py")})
    assert watched.returncode == plain.returncode
    assert _traceback_shape(without_holter_line(watched.stderr)) == shape
    # Python flushes stdout and runs atexit handlers before it dies of SIGINT.
    assert watched.stdout == plain.stdout, f"{mode}: stdout differs"


@pytest.mark.parametrize("mode", WATCHED)
def test_sigint_caught(mode: str) -> None:
    plain = _interrupt("plain", "caught")
    watched = _interrupt(mode, "caught")
    assert plain.returncode == 0
    assert plain.stdout == b"ready\nstill in the stdout buffer\ncaught\natexit handler ran\n"
    assert_same(plain, watched)


# --- 8: never hangs at exit ------------------------------------------------

@pytest.mark.parametrize("mode", WATCHED)
@pytest.mark.parametrize("variant", ["daemons", "bare"])
def test_exits_promptly(mode: str, variant: str) -> None:
    plain, watched = compare("transparency_daemon.py", variant, mode=mode)
    assert plain.returncode == 0
    assert plain.stdout.endswith(b"main thread done\n")
    assert watched.elapsed - plain.elapsed < 3.0, (plain.elapsed, watched.elapsed)


@pytest.mark.parametrize("mode", [*WATCHED, "cli-m"])
def test_main_module_after_the_last_line(mode: str) -> None:
    """The program runs in a __main__ module like the one Python makes, and
    its atexit handlers find that module in sys.modules["__main__"]."""
    plain, _ = compare("transparency_mainmodule.py", mode=mode)
    assert plain.stdout.endswith(b"at exit, __main__ is the program: True\n"
                                 b"state pickled at exit: 3 4\n")


# --- 9-10: sessions, and threads that were running before trace() -------------

def test_context_manager_then_stop_and_trace_again() -> None:
    run = run_program("transparency_sessions.py", mode="plain")
    assert (run.returncode, run.stderr) == (0, b"")
    # Counts add up over the sessions of one process; nothing counts in between.
    assert run.stdout.decode().splitlines() == [
        "1 current is t: True",
        "1 page: 200",
        "1 hits: 10",
        "1 current after with: None",
        "between hits: 10",
        "2 page: 200",
        "2 hits: 17",
        "2 second trace() refused",
        "3 page: 200",
        "3 hits: 20",
        "3 status tracing: False hook_errors: 0",
        "work still right: 45",
    ]


def test_threads_started_before_trace_are_counted() -> None:
    run = run_program("transparency_prestarted.py", mode="plain")
    assert (run.returncode, run.stderr) == (0, b"")
    assert run.stdout.decode().splitlines() == [
        "before: step hits 0",
        "after 20 rounds: step hits 20",
        "after 50 rounds: step hits 50",
        "spinner ran 1000 times after trace(): True",
        "spin hits >= 1000: True",
        "stepper loop hits: 50",
        "stepped: 55 2970",
        "hook_errors: 0",
    ]


# --- 11: holter's own output -------------------------------------------------

@pytest.mark.parametrize("mode", WATCHED)
@pytest.mark.parametrize("program", ["transparency_threads.py", "transparency_asyncio.py",
                                     "transparency_output.py"])
def test_quiet_writes_nothing(mode: str, program: str) -> None:
    plain = run_program(program, mode="plain")
    watched = run_program(program, mode=mode, quiet=True)
    assert watched.stdout == plain.stdout
    assert watched.stderr == plain.stderr
    assert watched.returncode == plain.returncode == 0


@pytest.mark.parametrize("mode", WATCHED)
def test_only_the_url_line_on_stderr(mode: str) -> None:
    plain = run_program("transparency_output.py", mode="plain")
    watched = run_program("transparency_output.py", mode=mode, quiet=False)
    assert len(HOLTER_LINE.findall(watched.stderr)) == 1
    assert watched.stderr.startswith(b"holter: watching this program at http://127.0.0.1:")
    assert_same(plain, watched)


@pytest.mark.parametrize("mode", WATCHED)
def test_stdout_stderr_interleaving(mode: str) -> None:
    """With stderr merged into stdout, the order of every write is kept."""
    plain = run_program("transparency_output.py", mode="plain", merge_stderr=True)
    watched = run_program("transparency_output.py", mode=mode, quiet=False, merge_stderr=True)
    assert plain.stdout.startswith(b"out 0\nerr 0\nout 1\n")
    assert without_holter_line(watched.stdout) == plain.stdout
    assert watched.returncode == plain.returncode == 0
