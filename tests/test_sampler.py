"""The stack sampler, checked from the outside: real programs sample
themselves (or run under ``holter run --sample``) in a child process and
print what holter exported; the tests compare that with the truth the
programs measured themselves.

- accuracy: each function's share of the samples is within 3 percentage
  points of the share of time it really took, in wall and in CPU mode
  (tests/programs/sampler_accuracy.py: busy Python, a C call holding the
  GIL, a sleeper, on four threads);
- health: the achieved rate, the status fields of docs/http-api.md, thread
  churn at 5 kHz, deep recursion, generators and asyncio tasks, the
  holter.profile() block, windows, the thread and idle filters, reset,
  thread names (tests/programs/sampler_features.py);
- the program's behaviour: same output and exit status, Ctrl-C still ends
  it (tests/programs/sampler_behaviour.py);
- memory: a million samples of a few stacks leave memory where it was
  (tests/programs/sampler_memory.py);
- the C location-table decoder against CPython's own co_positions() for
  every code object of a few big stdlib modules, through a small C driver
  built here.

Shares are printed (run with -s to see them).
"""
from __future__ import annotations

import functools
import json
import os
import re
import shlex
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import PROGRAMS, marks
import test_c_units

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "http-api.md"
ACCURACY = PROGRAMS / "sampler_accuracy.py"
FEATURES = PROGRAMS / "sampler_features.py"
BEHAVIOUR = PROGRAMS / "sampler_behaviour.py"
MEMORY = PROGRAMS / "sampler_memory.py"
TIMEOUT = 90            # seconds for one program: far above its run time
FRAME = re.compile(r"^(?P<name>.*) \((?P<file>.*):(?P<line>-?\d+)\)$")
PROFILE_MAX_STACK = 256     # frames kept per stack (src/holter/_core/profile.h)


# --- helpers ------------------------------------------------------------------

def run_json(program: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    """Runs a program to its end and returns the JSON of its last line."""
    proc = subprocess.run([sys.executable, str(program), *args], capture_output=True,
                          text=True, timeout=TIMEOUT, cwd=PROGRAMS,
                          env={**os.environ, **(env or {})})
    assert proc.returncode == 0, (
        f"{program.name} {' '.join(args)} exited with {proc.returncode}\n"
        f"stdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@functools.lru_cache(maxsize=None)
def scenario(*args: str) -> dict:
    """One run of sampler_features.py, shared by the tests that read it."""
    return run_json(FEATURES, *args)


def parse_folded(text: str) -> list[tuple[list[tuple[str, str, int]], int]]:
    """Strictly parses folded stacks: `frame;frame count` lines, each frame
    `name (file:line)`. Returns [(frames root first, count)]."""
    out = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        assert stack and count.isdigit() and int(count) > 0, f"bad folded line {line!r}"
        frames = []
        for part in stack.split(";"):
            m = FRAME.match(part)
            assert m, f"bad frame {part!r} in {line!r}"
            frames.append((m["name"], m["file"], int(m["line"])))
        out.append((frames, int(count)))
    return out


def names(stack: list[tuple[str, str, int]]) -> list[str]:
    return [f[0] for f in stack]


def samples_with(folded: str, name: str) -> int:
    """Samples whose stack holds a frame of function `name`."""
    return sum(n for st, n in parse_folded(folded) if name in names(st))


def total(folded: str) -> int:
    return sum(n for _, n in parse_folded(folded))


def flame_nodes(flame: dict) -> list[dict]:
    """The /api/profile tree as a list of {name, value, self, idle}, in
    either of its documented shapes (flat "nodes" rows, or nested "root")."""
    if "nodes" in flame:
        s = flame["strings"]
        return [{"name": s[r[1]], "value": r[4], "self": r[5], "idle": r[6]}
                for r in flame["nodes"]]
    out, todo = [], [flame["root"]]
    while todo:
        n = todo.pop()
        out.append(n)
        todo.extend(n.get("children", []))
    return out


def documented_sampler_fields() -> set[str]:
    """The keys of the /api/sampler example in docs/http-api.md."""
    text = DOCS.read_text()
    at = text.index("### `GET /api/sampler`")
    block = text[at:].split("```json", 1)[1].split("```", 1)[0]
    return set(json.loads(block))


# --- accuracy -----------------------------------------------------------------

def shares(folded: str) -> tuple[dict[str, int], int, int]:
    """Samples per function a-e (the innermost of them in each stack), the
    samples in none of them, and the total."""
    counts = dict.fromkeys("abcde", 0)
    other = 0
    for stack, n in parse_folded(folded):
        known = [x for x in names(stack) if x in counts]
        if known:
            counts[known[-1]] += n
        else:
            other += n
    return counts, other, sum(counts.values()) + other


@pytest.mark.parametrize("mode,interval", [("wall", 0.002), ("cpu", 0.001)])
def test_accuracy_within_3_points(mode: str, interval: float) -> None:
    """Each function's share of the samples is within 3 percentage points of
    its true share: of wall time in wall mode (every thread, all the time:
    the sleeper and the threads waiting for the GIL count), of CPU time
    (thread_time) in CPU mode (the sleeper ~0; a thread waiting for the GIL
    is not on a CPU and must not count)."""
    r = run_json(ACCURACY, mode, str(interval), "3")
    truth = r["wall" if mode == "wall" else "cpu"]
    counts, other, n = shares(r["folded"])
    known = sum(counts.values())
    assert known >= (1000 if mode == "cpu" else 3000), f"too few samples: {r['status']}"
    assert other <= 0.03 * n, f"{other} of {n} samples outside a()..e()"
    t_total = sum(truth.values())
    rows = {f: (100 * truth[f] / t_total, 100 * counts[f] / known) for f in "abcde"}
    table = "\n".join(f"  {f}(): truth {t:6.2f}%  measured {m:6.2f}%  diff {m - t:+.2f}"
                      for f, (t, m) in rows.items())
    print(f"\n{mode} mode, {interval} s, {n} samples, {r['status']['achieved_hz']} Hz:\n{table}")

    # The sampler sees d() inside its C call and e() inside time.sleep().
    m = marks(ACCURACY)
    leaf_lines: dict[str, dict[int, int]] = {"d": {}, "e": {}}
    for stack, c in parse_folded(r["folded"]):
        name, _, line = stack[-1]
        if name in leaf_lines:
            leaf_lines[name][line] = leaf_lines[name].get(line, 0) + c
    d_lines = leaf_lines["d"]
    assert d_lines.get(m["d-sum"], 0) >= 0.95 * sum(d_lines.values()), d_lines
    if mode == "wall":
        e_lines = leaf_lines["e"]
        assert e_lines.get(m["e-sleep"], 0) >= 0.95 * sum(e_lines.values()), e_lines
        # ...and marks the sleeper idle: without idle samples it is all but
        # gone (its waits for the GIL after each sleep count as busy, the
        # bug of test_cpu_mode_short_bursts, hence not 0).
        busy, _, _ = shares(r["busy_folded"])
        assert busy["e"] <= 0.06 * counts["e"], (busy, counts)
        assert busy["c"] > 0 and busy["d"] > 0
    else:
        assert counts["e"] <= 0.06 * known, "the sleeper is not on a CPU"

    # Gross errors fail outright (CPU mode counting like wall mode would put
    # e() at 25%); more than 3 points is the known CPU-mode bug, whose size
    # grows with GIL contention (6 points seen on d()).
    worst = max(abs(mm - t) for t, mm in rows.values())
    assert worst <= 12, f"far from the truth:\n{table}"
    assert worst <= 3, f"more than 3 points from the truth:\n{table}"


def test_cpu_mode_short_bursts() -> None:
    """A thread that wakes every millisecond for a few microseconds uses
    about 1% of a CPU; beside a thread using a whole one, its share of the
    CPU-mode samples must be about 1% too."""
    r = scenario("bursty", "2")
    tick = samples_with(r["folded"], "bursty.<locals>.tick")
    burn = samples_with(r["folded"], "bursty.<locals>.burn")
    assert tick > 0 and burn > 500, r["folded"]
    truth = 100 * r["cpu"]["tick"] / (r["cpu"]["tick"] + r["cpu"]["burn"])
    measured = 100 * tick / (tick + burn)
    print(f"\nbursty thread: truth {truth:.2f}% of CPU, measured {measured:.2f}% of samples")
    assert abs(measured - truth) <= 3, f"truth {truth:.2f}%, measured {measured:.2f}%"


# --- health -------------------------------------------------------------------

@pytest.mark.parametrize("interval", [0.01, 0.001])
def test_rate_and_status(interval: float) -> None:
    """The status has the documented fields; the sampler keeps its rate (at
    1 kHz a busy 2-core machine may delay some rounds: those are counted as
    missed, so rounds + missed always account for the elapsed time)."""
    r = scenario("rate", str(interval), "1.5")
    st = r["status"]
    print(f"\n{1 / interval:.0f} Hz target: {st['achieved_hz']} Hz achieved, "
          f"{st['missed']} missed, {st['torn']} torn of {st['thread_samples']}")
    missing = documented_sampler_fields() - set(st)
    assert not missing, f"documented in docs/http-api.md but absent: {missing}"
    assert st["running"] is True and r["stopped"]["running"] is False
    assert st["mode"] == "wall" and st["interval_s"] == interval
    assert st["target_hz"] == pytest.approx(1 / interval)
    expected_rounds = st["elapsed_s"] / interval
    assert st["samples"] + st["missed"] == pytest.approx(expected_rounds, rel=0.1)
    assert st["achieved_hz"] >= (0.9 if interval >= 0.01 else 0.6) * st["target_hz"], st
    assert st["dropped"] == st["missed"] + st["lost"] and st["lost"] == 0
    assert st["torn"] <= 0.01 * st["thread_samples"]
    assert st["threads"] in (1, 2) and st["thread_samples"] >= 1.8 * st["samples"]
    assert 0 < st["memory_bytes"] <= st.get("memory_cap_bytes", st["memory_bytes"])
    assert st["unique_stacks"] >= 2 and st["unique_frames"] >= st["unique_stacks"]


def test_thread_churn_at_5khz() -> None:
    """Threads start and end all the time (thousands in 3 s) while the
    sampler reads them at 5 kHz: no crash, the torn reads are counted and
    few, and every thread in the profile is one the program ran."""
    r = scenario("churn", "3")
    st = r["status"]
    print(f"\nchurn: {r['created']} threads, {r['sampled']} in the profile, "
          f"{st['achieved_hz']} Hz, torn {st['torn']} / {st['thread_samples']}, lost {st['lost']}")
    assert r["created"] > 1000
    assert st["samples"] > 3000 and r["short_lived_samples"] > 100
    assert 0 <= st["torn"] <= 0.1 * st["thread_samples"]
    assert not r["unknown"], f"threads that never existed: {r['unknown']}"


@pytest.mark.parametrize("depth", [900, 3000])
def test_deep_recursion(depth: int) -> None:
    """A stack 900 (or, with a raised recursion limit, 3000) frames deep is
    sampled, not dropped as torn: its innermost PROFILE_MAX_STACK frames
    are kept, down to the line the thread is on."""
    r = scenario("deep", str(depth))
    st = r["status"]
    stacks = parse_folded(r["folded"])
    assert total(r["folded"]) >= 300, st
    bottom = marks(FEATURES)["deep-bottom"]
    at_bottom = [(s, n) for s, n in stacks if s[-1][0] == "recurse" and s[-1][2] == bottom]
    assert sum(n for _, n in at_bottom) >= 0.5 * total(r["folded"])
    full = [(s, n) for s, n in stacks if len(s) == PROFILE_MAX_STACK]
    assert sum(n for _, n in full) >= 0.95 * total(r["folded"]), [len(s) for s, _ in stacks]
    assert all(len(s) <= PROFILE_MAX_STACK for s, _ in stacks)
    for s, _ in full:
        assert set(names(s[:-1])) == {"recurse"}     # the innermost frames
    assert st["torn"] <= 0.01 * st["thread_samples"], st


def test_generators_and_asyncio_tasks_in_stacks() -> None:
    """A generator's frame sits under the code that resumed it, and an
    asyncio task's coroutine under the event loop that runs it."""
    r = scenario("gen")
    rows = [(names(s), n) for s, n in parse_folded(r["folded"])]
    gen_rows = [(s, n) for s, n in rows if s[-2:] == ["produce", "spin"]]
    assert sum(n for _, n in gen_rows) >= 100
    assert all(s[-3] == "consume" for s, _ in gen_rows)
    task_rows = [(s, n) for s, n in rows if s[-2:] == ["crunch", "spin"]]
    in_loop = sum(n for s, n in task_rows
                  if s[0] == "<module>" and "gen" in s and any("_run_once" in f for f in s)
                  and any("run_until_complete" in f for f in s))
    # (3.13 shows about one sample per run as a bare `crunch;spin`: a read
    # racing the task's start; see the report)
    assert in_loop >= 100 and in_loop >= 0.98 * sum(n for _, n in task_rows), task_rows


def test_profile_context_manager() -> None:
    """holter.profile() samples inside the block only and leaves nothing
    running; its sampler object exports what it saw, the same later."""
    r = scenario("context")
    assert (r["before"], r["during"], r["after"]) == (False, True, False)
    assert r["mode"] == "cpu" and r["interval"] == 0.001
    assert samples_with(r["first"], "in_context") >= 200
    assert r["second"] == r["first"]            # nothing sampled after the block
    assert r["status"]["running"] is False


def test_elapsed_stops_with_the_sampler() -> None:
    """After holter.profile()'s block, the profile's elapsed time is the
    block's length, however late it is read."""
    r = scenario("context")
    assert r["lp_second"] == pytest.approx(r["lp_first"], abs=0.05), (r["lp_first"], r["lp_second"])


def test_window() -> None:
    """window=1 holds only the last second: a phase that ended 2.5 s ago is
    absent; window=0 and a longer window hold both phases."""
    r = scenario("window")
    assert samples_with(r["last1"], "phase_one") == 0
    assert samples_with(r["last1"], "phase_two") > 0
    for key in ("all", "last30"):
        assert samples_with(r[key], "phase_one") >= 200
        assert samples_with(r[key], "phase_two") >= 500
    # one second at 500 Hz on one thread
    assert 150 <= r["top1"]["total"] <= 600, r["top1"]["total"]
    # Two exports a moment apart: the one-second window has slid by a sample
    # or two between them.
    assert abs(total(r["last1"]) - r["top1"]["total"]) <= 2 + r["top1"]["total"] // 100


def test_thread_filter_idle_reset_and_names() -> None:
    r = scenario("filters")
    ids = r["ids"]
    # thread=: one thread's stacks only; an unknown thread: nothing
    assert samples_with(r["only_a"], "busy_a") == total(r["only_a"]) > 100
    assert samples_with(r["only_b"], "sleepy_b") == total(r["only_b"]) > 100
    assert r["nobody"] == ""
    assert total(r["all"]) >= total(r["only_a"]) + total(r["only_b"])
    # idle=False: the sleeper and the sleeping main thread are (nearly) gone
    assert samples_with(r["busy"], "sleepy_b") <= 2
    assert samples_with(r["busy"], "busy_a") >= 0.5 * samples_with(r["all"], "busy_a")
    # the sleeper is idle in the flame graph
    sleepy = [n for n in flame_nodes(r["flame"]) if n["name"] == "sleepy_b"]
    assert sleepy and all(n["idle"] >= n["value"] - 2 for n in sleepy), sleepy
    # names
    by_id = {t["id"]: t for t in r["threads"]["threads"]}
    assert by_id[ids["A"]]["name"] == "worker-A"
    assert by_id[ids["B"]]["name"] == "worker-B"
    assert by_id[ids["main"]]["name"] == "MainThread"
    assert all(t["samples"] > 100 and t["native_id"] > 0 for t in by_id.values())
    profiles = r["speedscope_a"]["profiles"]
    assert [p["name"] for p in profiles] == ["worker-A"]
    # reset=True: the read gets everything, then the profile starts again
    assert samples_with(r["reset_read"], "busy_a") >= samples_with(r["all"], "busy_a")
    assert total(r["after_reset"]) <= 20
    assert r["status_after_reset"]["samples"] <= 10
    assert r["status_after_reset"]["samples"] < r["status_before_reset"]["samples"]
    assert total(r["later"]) >= 100             # and sampling goes on


# --- the program under the sampler --------------------------------------------

def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, cwd=PROGRAMS,
                          env={**os.environ, **env})


HOLTER_LINE = re.compile(rb"^holter: profiling this program at http://127\.0\.0\.1:\d+/#/profile\n",
                         re.M)


@pytest.mark.parametrize("args", [("exit", "3"), ("exit", "0"), ("raise",)],
                         ids=["exit3", "exit0", "raise"])
@pytest.mark.parametrize("how", ["cli-wall", "cli-cpu", "start-cpu"])
def test_same_output_and_exit_status(args: tuple[str, ...], how: str) -> None:
    """stdout byte for byte, the exit status and stderr (but holter's
    line) are what they are without the sampler."""
    base = {k: v for k, v in os.environ.items() if k not in ("SAMPLE", "PYTHONUNBUFFERED")}
    plain = subprocess.run([sys.executable, str(BEHAVIOUR), *args], capture_output=True,
                           timeout=TIMEOUT, cwd=PROGRAMS, env=base)
    if how.startswith("cli"):
        cmd = [sys.executable, "-m", "holter", "run", "--sample", "--interval", "0.001",
               "--mode", how[4:], "--port", "0", str(BEHAVIOUR), *args]
        watched = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, cwd=PROGRAMS, env=base)
    else:
        watched = subprocess.run([sys.executable, str(BEHAVIOUR), *args], capture_output=True,
                                 timeout=TIMEOUT, cwd=PROGRAMS, env={**base, "SAMPLE": "cpu"})
    assert watched.stdout == plain.stdout
    assert watched.returncode == plain.returncode
    assert HOLTER_LINE.sub(b"", watched.stderr) == plain.stderr


@pytest.mark.parametrize("how", ["plain", "cli", "start"])
def test_ctrl_c_still_ends_the_program(how: str) -> None:
    """SIGINT to a sampled program raises KeyboardInterrupt in its main
    thread as usual: finally blocks and atexit handlers run, and it dies of
    SIGINT (the sampler thread blocks every signal)."""
    base = {k: v for k, v in os.environ.items() if k not in ("SAMPLE", "PYTHONUNBUFFERED")}
    if how == "cli":
        cmd = [sys.executable, "-m", "holter", "run", "--sample", "--interval", "0.001",
               "--port", "0", "--quiet", str(BEHAVIOUR), "sigint"]
    else:
        cmd = [sys.executable, str(BEHAVIOUR), "sigint"]
    env = {**base, "SAMPLE": "wall"} if how == "start" else base
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=PROGRAMS,
                            env=env, start_new_session=True)
    try:
        line = b""
        while not line.endswith(b"ready\n"):
            chunk = proc.stdout.read1(100)
            assert chunk, f"ended before ready: {proc.wait()}"
            line += chunk
        time.sleep(0.3)                 # let the sampler sample it for a while
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGINT, (proc.returncode, err[-2000:])
    assert out.endswith(b"finally block ran\natexit handler ran\n"), out
    assert b"KeyboardInterrupt" in err


# --- memory -------------------------------------------------------------------

def test_memory_constant_over_a_million_samples() -> None:
    """About a million thread samples of a few stacks: memory_bytes does not
    move once every stack has been seen, stays far under the cap, and the
    process's resident memory grows only by the pages of the sample ring
    first touched (16 bytes a sample, up to its 2^20 slots)."""
    r = run_json(MEMORY, "5")
    warm, end = r["warm"], r["end"]
    print(f"\nmemory: {end['thread_samples']} thread samples at {end['achieved_hz']} Hz, "
          f"memory_bytes {warm['memory_bytes']} -> {end['memory_bytes']}, "
          f"rss {warm['rss']} -> {end['rss']}, cap {end.get('memory_cap_bytes')}")
    assert end["thread_samples"] >= 500_000
    assert end["unique_stacks"] <= 60
    # Only the cache of line tables may move (code seen for the first time);
    # the tables of stacks and counts do not grow with samples.
    assert abs(end["memory_bytes"] - warm["memory_bytes"]) <= 64 << 10
    assert end["memory_bytes"] <= 64 << 20
    assert end["memory_bytes"] <= end.get("memory_cap_bytes", end["memory_bytes"])
    ring = 1 << 20
    touched = 16 * (min(end["thread_samples"], ring) - min(warm["thread_samples"], ring))
    assert end["rss"] - warm["rss"] <= touched + (4 << 20)
    assert end["lost"] == 0 and end["torn"] <= 0.01 * end["thread_samples"]


# --- the location-table decoder against CPython -------------------------------

DRIVER = r"""
/* Reads records from stdin: int32 firstlineno, uint32 n, n bytes of
 * co_linetable, uint32 units; writes units + 2 int32 lines (the last two
 * past the end). Each table is copied to a buffer of exactly n bytes. */
#include "linetable.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(void)
{
    int32_t first;
    uint32_t n, units;
    while (fread(&first, 4, 1, stdin) == 1) {
        if (fread(&n, 4, 1, stdin) != 1)
            return 2;
        uint8_t *t = malloc(n ? n : 1);
        if (t == NULL || fread(t, 1, n, stdin) != n || fread(&units, 4, 1, stdin) != 1)
            return 2;
        for (uint32_t u = 0; u < units + 2; u++) {
            int32_t line = linetable_line(t, n, first, (int)u);
            fwrite(&line, 4, 1, stdout);
        }
        free(t);
    }
    return 0;
}
"""

STDLIB_MODULES = ["typing", "inspect", "argparse", "asyncio.base_events",
                  "email._header_value_parser", "pydoc", "difflib", "dataclasses", "ast", "tarfile"]


def code_objects(code):
    yield code
    for c in code.co_consts:
        if hasattr(c, "co_linetable"):
            yield from code_objects(c)


def test_linetable_matches_co_positions(tmp_path: Path) -> None:
    """linetable_line() gives, for every code unit of every code object in
    a few big stdlib modules, the line co_positions() gives (-1 for None),
    agrees with co_lines(), and -1 past the end."""
    import importlib.util
    exe = tmp_path / "linetable_driver"
    src = tmp_path / "driver.c"
    src.write_text(DRIVER)
    cmd = [test_c_units.compiler(), *test_c_units.CFLAGS, str(src),
           str(test_c_units.CORE / "linetable.c"), "-o", str(exe)]
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, f"{shlex.join(cmd)}\n{build.stderr}"

    records, expected = bytearray(), []
    ncodes = 0
    for mod in STDLIB_MODULES:
        path = importlib.util.find_spec(mod).origin
        with open(path, "rb") as f:
            top = compile(f.read(), path, "exec")
        for code in code_objects(top):
            ncodes += 1
            units = len(code.co_code) // 2
            lines = [p[0] if p[0] is not None else -1 for p in code.co_positions()]
            assert len(lines) == units
            by_lines = [-1] * units
            for start, end, line in code.co_lines():
                for u in range(start // 2, end // 2):
                    by_lines[u] = -1 if line is None else line
            assert by_lines == lines, f"co_lines and co_positions differ in {code}"
            table = code.co_linetable
            records += struct.pack("<iI", code.co_firstlineno, len(table)) + table
            records += struct.pack("<I", units)
            expected.append((code, lines + [-1, -1]))
    proc = subprocess.run([str(exe)], input=bytes(records), capture_output=True, timeout=120,
                          env=test_c_units.sanitizer_env(False))
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    got = struct.unpack(f"<{len(proc.stdout) // 4}i", proc.stdout)
    at, bad = 0, []
    for code, lines in expected:
        mine = list(got[at:at + len(lines)])
        at += len(lines)
        if mine != lines:
            diff = [(u, mine[u], lines[u]) for u in range(len(lines)) if mine[u] != lines[u]]
            bad.append(f"{code.co_qualname} ({code.co_filename}:{code.co_firstlineno}): "
                       f"(unit, got, want) {diff[:5]}")
    assert at == len(got)
    assert not bad, f"{len(bad)} of {ncodes} code objects differ:\n" + "\n".join(bad[:10])
    assert ncodes > 1500


def test_gil_state_where_it_can_be_known() -> None:
    """3.13's _Py_DebugOffsets say who holds the GIL: a thread in a long C
    call holding it shows in nearly all its samples, a sleeper in none.
    Before 3.13 the sampler says it cannot know (null), never guesses."""
    code = (
        "import holter, json, threading, time\n"
        "def hog():\n"
        "    t0 = time.time()\n"
        "    while time.time() - t0 < 1.0:\n"
        "        sum(range(3_000_000))\n"
        "def nap():\n"
        "    time.sleep(1.0)\n"
        "s = holter.start(interval=0.002, serve=False)\n"
        "a = threading.Thread(target=hog); b = threading.Thread(target=nap)\n"
        "a.start(); b.start(); a.join(); b.join()\n"
        "th = json.loads(holter.export('threads'))['threads']\n"
        "print(json.dumps({'known': holter._sampling.status()['gil_known'],\n"
        "                  'threads': {t['id']: t for t in th}, 'hog': a.ident, 'nap': b.ident}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    hog, nap = r["threads"][str(r["hog"])], r["threads"][str(r["nap"])]
    if sys.version_info >= (3, 13):
        assert r["known"] is True
        assert hog["gil_samples"] >= 0.8 * hog["samples"]
        assert nap["gil_samples"] == 0
    else:
        assert r["known"] is False
        assert hog["gil_samples"] is None and nap["gil_samples"] is None
