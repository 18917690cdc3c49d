"""Sampler cost: holter's stack sampler against pyinstrument, py-spy and Austin.

Three measurements on each given CPython, every one in a fresh process
running bench/sampler_child.py:

1. Overhead. Pure-Python workloads (bench/workloads/*.py, ~0.5 s each) run
   under no profiler and under each profiler at 100 Hz and 1 kHz:

     holter        holter.start(interval, mode="wall", serve=False): in
                   process, a native thread, every thread
     pyinstrument  pyinstrument.Profiler(interval) around the workload: in
                   process, setprofile-driven, the calling thread only
     py-spy        py-spy record -r HZ --format raw -- python child.py: out
                   of process, ptrace-stops the program for each sample
     austin        austin -i US python child.py: out of process, never stops
                   the program

   Only the workload is timed (time.perf_counter() around run() in the
   child), not start-up. An out-of-process profiler launches the child, and
   the child starts the workload only once the profiler has said on stderr
   that it is sampling. Configurations are interleaved within each
   repetition, in a rotating order, so that they share the machine's noise;
   the tables show median(profiler) / median(no profiler) per workload, then
   the median and the worst ratio over workloads. Out-of-process profilers
   spend their CPU on another core, where wall time does not see it: the
   "profiler CPU" row shows it (holter's sampler thread, read from
   /proc/self/task/TID/schedstat; py-spy's and Austin's process, from
   wait4(), less the child's own CPU time).

2. Achieved rate. holter alone, its own health (holter._sampling.status())
   read after a 0.2 s warm-up and at the end: 10 kHz on one busy thread;
   1 kHz with 1 busy + 99 threads blocked on an Event; 1 kHz with 1 busy +
   49 blocked (the sampler thread's CPU target); 1 kHz with 50 busy threads.

3. Memory. holter's memory_bytes over a long run: "steady" (the workloads in
   a loop on three threads plus 20 idle ones, 1 kHz) and "storm" (chains of
   2,000 generated functions, a new stack at nearly every sample, 10 kHz),
   against the cap holter reports (memory_cap_bytes) and the 64 MiB that
   the Targets table of peers.md sets.

    bench/run_sampler.sh                       every .venv/3.1x that exists
    bench/run_sampler.sh --quick               smaller sizes, fewer repetitions
    bench/run_sampler.sh .venv/3.12/bin/python -r 7 -w fib,deep -p holter,py-spy
    bench/run_sampler.sh --parts overhead      one part only
    bench/run_sampler.sh --strict              exit 1 if a target is missed

Exit status: 2 if holter failed to run, 1 under --strict if a target is
missed, else 0. A peer that cannot run here is reported, with its error, and
does not change the exit status.

Prints markdown tables per Python version and writes every raw measurement
to bench/results/sampler-<time>.json.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from sampler_child import GO_ENV, MEMORY_RUNS, RATE_SCENARIOS, RESULT_ENV, STORM_FUNCS
from tracer import REPO_DIR, RESULTS_DIR, _default_pythons

PROFILERS = ["holter", "pyinstrument", "py-spy", "austin"]
OPTIONAL_PROFILERS = ["py-spy-nb"]      # py-spy --nonblocking: on request only
RATES = [100, 1000]
SLOW_CAP = 20           # a run slower than this many times the baseline is stopped

# Workload sizes: full (~0.45 s with no profiler on 3.12, idle machine) and --quick.
SIZES = {
    "fib": (33, 30),
    "nbody": (100_000, 25_000),
    "text": (380_000, 95_000),
    "threads": (750_000, 190_000),
    "scheduler": (100_000, 25_000),
    "floats": (450_000, 110_000),
    "regex": (75_000, 19_000),
    "generators": (1_200_000, 300_000),
    "deep": (24_000, 6_000),
}
# Workloads where pyinstrument does not see the work (it profiles the thread
# that started it): shown, marked.
ONE_THREAD_BLIND = {"threads"}

TARGETS = {             # holter's ratio to no profiler, from peers.md's Targets table
    ("median", 100): 1.01,
    ("median", 1000): 1.03,
    ("worst", 100): 1.03,
}
RATE_EFFICIENCY_TARGET = 0.95   # achieved / target at 10 kHz, one busy thread
SAMPLER_CPU_TARGET = 0.05       # share of one core at 1 kHz with 50 threads
MEMORY_TARGET = 64 << 20        # the Targets table: profiler memory <= 64 MB by default

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sampler_child.py")
READY = {               # what an out-of-process profiler prints once it samples
    "py-spy": re.compile(r"Sampling process"),
    "py-spy-nb": re.compile(r"Sampling process"),
    "austin": re.compile(r"Python.*version"),
}


# --------------------------------------------------------------- parent ---

def _python_info(python: str) -> dict:
    code = ("import json, platform\n"
            "from importlib.metadata import version\n"
            "info = {'version': platform.python_version()}\n"
            "for mod in ('holter', 'pyinstrument', 'py-spy', 'austin-dist'):\n"
            "    try:\n"
            "        info[mod] = version(mod)\n"
            "    except Exception:\n"
            "        info[mod] = None\n"
            "try:\n"
            "    import pyinstrument\n"
            "    info['pyinstrument_error'] = None\n"
            "except Exception as e:\n"
            "    info['pyinstrument_error'] = '%s: %s' % (type(e).__name__, e)\n"
            "print(json.dumps(info))\n")
    res = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=REPO_DIR)
    if res.returncode != 0:
        raise SystemExit(f"{python}: cannot run: {res.stderr.strip()}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _peer_binary(python: str, name: str) -> str | None:
    here = os.path.join(os.path.dirname(python), name)
    return here if os.access(here, os.X_OK) else shutil.which(name)


def probe_peers(python: str, info: dict, profilers: list[str]) -> dict:
    """Whether each peer can start here; {name: None or the reason it cannot}."""
    why: dict[str, str | None] = {}
    for p in profilers:
        if p == "holter":
            why[p] = None
        elif p == "pyinstrument":
            why[p] = info.get("pyinstrument_error")
        else:
            exe = _peer_binary(python, "py-spy" if p.startswith("py-spy") else "austin")
            if exe is None:
                why[p] = f"{p} is not installed (pip install {'py-spy' if p.startswith('py-spy') else 'austin-dist'})"
                continue
            res = subprocess.run([exe, "--version" if p.startswith("py-spy") else "-V"],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                why[p] = (res.stderr.strip().splitlines() or [f"exit {res.returncode}"])[-1]
            else:
                why[p] = None
                info[p + "_binary"] = res.stdout.strip() or res.stderr.strip()
    return why


def _config_name(profiler: str, hz: int) -> str:
    return "none" if profiler == "none" else f"{profiler}@{hz}"


class _OutputWatch(threading.Thread):
    """Reads a process's output (stdout and stderr), keeps its tail, and
    creates the go file when the profiler's ready line shows up."""

    def __init__(self, stream, ready: re.Pattern | None, go: str | None):
        super().__init__(daemon=True)
        self.stream, self.ready, self.go = stream, ready, go
        self.text = ""
        self.profiler_line = ""

    def run(self) -> None:
        for raw in iter(self.stream.readline, b""):
            line = raw.decode(errors="replace")
            self.text = (self.text + line)[-8000:]
            if self.ready is not None and self.go and self.ready.search(line):
                open(self.go, "w").close()
                self.ready = None
            if "Samples:" in line:
                self.profiler_line = line.strip()


def _last_error_line(text: str) -> str:
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", s).strip() for s in text.splitlines()]
    lines = [s for s in lines if s]
    return lines[-1] if lines else "(no output)"


def _run(cmd: list[str], timeout: float, ready: re.Pattern | None = None) -> tuple[dict | None, dict]:
    """Runs one child (maybe under a profiler). Returns its result (None on
    failure) and what the parent saw: error, stderr tail, profiler CPU."""
    with tempfile.TemporaryDirectory(prefix="holter-bench-") as tmp:
        out_path = os.path.join(tmp, "result.json")
        go = os.path.join(tmp, "go") if ready is not None else None
        env = dict(os.environ, **{RESULT_ENV: out_path})
        if go:
            env[GO_ENV] = go
        cmd = [c.replace("{tmp}", tmp) for c in cmd]
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, cwd=REPO_DIR, env=env, start_new_session=True)
        watch = _OutputWatch(p.stdout, ready, go)
        watch.start()
        killed = []

        def kill():
            killed.append(True)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        watch.join(5)
        seen = {"wall_total": wall, "cpu_total": ru.ru_utime + ru.ru_stime, "stderr_tail": watch.text[-2000:]}
        if watch.profiler_line:
            seen["profiler_says"] = watch.profiler_line
        samples_file = os.path.join(tmp, "samples.out")
        if os.path.exists(samples_file):
            seen["samples_file_bytes"] = os.path.getsize(samples_file)
            seen["sample_lines"] = _count_sample_lines(samples_file)
        if killed:
            seen["error"] = f"timed out after {timeout:.0f} s"
            seen["timed_out"] = True
            return None, seen
        if p.returncode != 0 or not os.path.exists(out_path):
            seen["error"] = f"exit {p.returncode}: {_last_error_line(watch.text)}"
            return None, seen
        with open(out_path, encoding="utf-8") as f:
            return json.load(f), seen


def _count_sample_lines(path: str) -> int:
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if line.strip() and not line.startswith(b"#"):
                n += 1
    return n


def _overhead_cmd(python: str, profiler: str, hz: int, w: str, n: int) -> tuple[list[str], re.Pattern | None]:
    inner_prof = profiler if profiler in ("holter", "pyinstrument") else "none"
    child = [python, CHILD, "overhead", w, inner_prof, str(hz), str(n)]
    if profiler in ("py-spy", "py-spy-nb"):
        cmd = [_peer_binary(python, "py-spy"), "record", "-r", str(hz), "--format", "raw",
               "-o", "{tmp}/samples.out"]
        if profiler == "py-spy-nb":
            cmd.append("--nonblocking")
        return cmd + ["--"] + child, READY[profiler]
    if profiler == "austin":
        # -t: wait up to 5 s for the child's interpreter (the default 100 ms
        # is too short on a loaded machine: "not a Python process").
        return [_peer_binary(python, "austin"), "-i", f"{round(1e6 / hz)}us", "-t", "5000",
                "-o", "{tmp}/samples.out"] + child, READY[profiler]
    return child, None


def run_overhead(python: str, workloads: list[str], sizes: dict, profilers: list[str], repeat: int,
                 peer_repeat: int, cannot: dict, timeout: float) -> list[dict]:
    configs = [("none", 0)] + [(p, hz) for hz in RATES for p in profilers if cannot.get(p) is None]
    failures: dict[str, int] = {}
    capped: set[tuple[str, str, int]] = set()
    runs = []
    started = time.monotonic()
    for rep in range(repeat):
        for wi, w in enumerate(workloads):
            k = (rep * 3 + wi) % len(configs)
            order = configs[k:] + configs[:k]        # rotate: no config always goes first
            for prof, hz in order:
                if prof not in ("none", "holter") and rep >= peer_repeat:
                    continue                         # peers: fewer repetitions
                if failures.get(prof, 0) >= 3 or (w, prof, hz) in capped:
                    continue                         # keeps failing, or known to be > SLOW_CAP x
                base = [r["seconds"] for r in runs if r["workload"] == w and r["profiler"] == "none"
                        and "seconds" in r]
                limit = timeout if prof == "none" else min(
                    timeout, SLOW_CAP * (statistics.median(base) if base else 0.6) + 3)
                r = _overhead_run(python, prof, hz, w, sizes[w], limit)
                if "error" in r and not r.get("capped") and prof in READY:
                    first = r["error"]               # e.g. Austin's "not a Python process": once more
                    r = _overhead_run(python, prof, hz, w, sizes[w], limit)
                    r["retried_after"] = first
                r["repetition"] = rep
                if r.get("capped"):
                    capped.add((w, prof, hz))
                    print(f"  {w} / {_config_name(prof, hz)}: over {SLOW_CAP}x, stopped", file=sys.stderr)
                elif "error" in r:
                    failures[prof] = failures.get(prof, 0) + 1
                    print(f"  {w} / {_config_name(prof, hz)}: {r['error']}", file=sys.stderr)
                runs.append(r)
        print(f"  overhead: repetition {rep + 1}/{repeat} done, {time.monotonic() - started:.0f} s",
              file=sys.stderr)
    return runs


def _overhead_run(python: str, prof: str, hz: int, w: str, n: int, limit: float) -> dict:
    """One measurement; a run killed at `limit` (SLOW_CAP times the
    baseline, plus start-up) is marked capped: slower than SLOW_CAP x."""
    cmd, ready = _overhead_cmd(python, prof, hz, w, n)
    res, seen = _run(cmd, limit, ready)
    r = {"workload": w, "profiler": prof, "hz": hz, "parent": seen}
    if res is None:
        r["error"] = seen["error"]
        r["capped"] = seen.get("timed_out", False) and prof != "none"
        return r
    r.update(res)
    r["profiler"] = prof                    # the child only knows in-process ones
    if prof in READY:
        # Out of process: its CPU is everything wait4 saw less the child's own.
        r["profiler_cpu_seconds"] = max(0.0, seen["cpu_total"] - res["self_cpu_total"])
        r["profiler_lifetime"] = seen["wall_total"]
    return r


def _v(ok: bool | None, value: str | None) -> dict:
    """A target's verdict: PASS (True), FAIL (False), not measured (None)."""
    return {"ok": ok, "value": value}


def summarize_overhead(runs: list[dict], workloads: list[str], profilers: list[str], clock: str = "seconds") -> dict:
    rows = {}
    configs = [("none", 0)] + [(p, hz) for hz in RATES for p in profilers]
    for w in workloads:
        row = {"median": {}, "errors": {}, "ratio": {}, "n": {}, "profiler_cpu_share": {},
               "capped": [], "retried": {}}
        for prof, hz in configs:
            c = _config_name(prof, hz)
            mine = [r for r in runs if r["workload"] == w and r["profiler"] == prof and r["hz"] == hz]
            good = [r for r in mine if "error" not in r]
            bad = [r["error"] for r in mine if "error" in r and not r.get("capped")]
            if any(r.get("capped") for r in mine):
                row["capped"].append(c)
            if bad:
                row["errors"][c] = bad[0]
            retried = [r["retried_after"] for r in mine if "retried_after" in r]
            if retried:
                row["retried"][c] = retried[0]
            if good:
                row["median"][c] = statistics.median(r[clock] for r in good)
                row["n"][c] = len(good)
                shares = []
                for r in good:
                    if "profiler_cpu_seconds" not in r:
                        continue
                    span = r.get("profiler_lifetime") or r["seconds"]
                    shares.append(r["profiler_cpu_seconds"] / span)
                if shares:
                    row["profiler_cpu_share"][c] = statistics.median(shares)
        base_runs = [r[clock] for r in runs if r["workload"] == w and r["profiler"] == "none" and "error" not in r]
        base = row["median"].get("none")
        if base:
            row["spread"] = (max(base_runs) - min(base_runs)) / base
            row["ratio"] = {c: m / base for c, m in row["median"].items() if c != "none"}
            for c in row["capped"]:         # at least SLOW_CAP x: count it as that
                row["ratio"][c] = max(SLOW_CAP, row["ratio"].get(c, 0.0))
        rows[w] = row
    summary = {}
    for prof, hz in configs[1:]:
        c = _config_name(prof, hz)
        rs = {w: rows[w]["ratio"][c] for w in workloads if c in rows[w]["ratio"]}
        shares = [rows[w]["profiler_cpu_share"][c] for w in workloads if c in rows[w]["profiler_cpu_share"]]
        health = [r["holter"] for r in runs if r["profiler"] == prof and r["hz"] == hz and "holter" in r]
        if rs:
            worst = max(rs, key=rs.get)
            summary[c] = {"median": statistics.median(rs.values()), "worst": rs[worst], "worst_workload": worst,
                          "worst_capped": c in rows[worst]["capped"],
                          "geomean": math.exp(statistics.fmean(math.log(x) for x in rs.values())),
                          "workloads": len(rs), "profiler_cpu_share": statistics.median(shares) if shares else None}
            if health:
                summary[c]["holter_achieved_hz"] = statistics.median(h["achieved_hz"] for h in health)
                summary[c]["holter_torn"] = sum(h["torn"] for h in health)
                summary[c]["holter_thread_samples"] = sum(h["thread_samples"] for h in health)
    verdicts = {}
    for (stat, hz), limit in TARGETS.items():
        s = summary.get(_config_name("holter", hz))
        complete = s is not None and s["workloads"] == len(workloads)
        verdicts[f"holter {stat} @{hz} Hz ≤ {limit}×"] = _v(s[stat] <= limit if complete else None,
                                                          f"{s[stat]:.3f}×" if s else None)
    return {"rows": rows, "summary": summary, "verdicts": verdicts}


def run_rates(python: str, seconds: float, repeat: int, timeout: float) -> list[dict]:
    runs = []
    for rep in range(repeat):
        for sc in RATE_SCENARIOS:
            res, seen = _run([python, CHILD, "rate", sc, str(seconds)], timeout)
            if res is None:
                res = {"scenario": sc, "error": seen["error"], "stderr_tail": seen["stderr_tail"]}
                print(f"  rate / {sc}: {res['error']}", file=sys.stderr)
            res["repetition"] = rep
            runs.append(res)
    return runs


def summarize_rates(runs: list[dict]) -> dict:
    rows = {}
    for sc, (hz, busy, blocked) in RATE_SCENARIOS.items():
        good = [r for r in runs if r["scenario"] == sc and "error" not in r and r["seconds"] > 0]
        bad = [r.get("error", "empty window") for r in runs if r["scenario"] == sc and r not in good]
        if not good:
            rows[sc] = {"error": bad[0] if bad else "not run"}
            continue

        def med(key):
            xs = [r[key] for r in good if r.get(key) is not None]
            return statistics.median(xs) if xs else None
        achieved = med("achieved_hz")
        rows[sc] = {"target_hz": hz, "achieved_hz": achieved, "efficiency": achieved / hz,
                    "achieved_min": min(r["achieved_hz"] for r in good),
                    "missed_per_s": statistics.median(r["missed"] / r["seconds"] for r in good), "torn": sum(r["torn"] for r in good),
                    "lost": sum(r["lost"] for r in good),
                    "thread_samples_per_round": statistics.median(r["thread_samples"] / r["rounds"] for r in good if r["rounds"]),
                    "sampler_cpu_share": med("sampler_cpu_share"),
                    "sampler_us_per_round": med("sampler_us_per_round"),
                    "process_minus_busy_share": med("process_minus_busy_share"),
                    "threads": good[0]["threads"], "runs": len(good)}
    verdicts = {}
    r10 = rows.get("10 kHz, 1 busy thread", {})
    verdicts[f"10 kHz on 1 busy thread, efficiency ≥ {RATE_EFFICIENCY_TARGET:.0%}"] = _v(
        r10["efficiency"] >= RATE_EFFICIENCY_TARGET if "efficiency" in r10 else None,
        f"{r10['achieved_hz']:,.0f} Hz, {r10['efficiency']:.1%}" if "efficiency" in r10 else None)
    r100 = rows.get("1 kHz, 1 busy + 99 blocked", {})
    verdicts[f"1 kHz with 100 threads, efficiency ≥ {RATE_EFFICIENCY_TARGET:.0%}"] = _v(
        r100["efficiency"] >= RATE_EFFICIENCY_TARGET if "efficiency" in r100 else None,
        f"{r100['achieved_hz']:,.0f} Hz, {r100['efficiency']:.1%}" if "efficiency" in r100 else None)
    r50 = rows.get("1 kHz, 1 busy + 49 blocked", {})
    share = r50.get("sampler_cpu_share")
    verdicts[f"sampler CPU at 1 kHz with 50 threads ≤ {SAMPLER_CPU_TARGET:.0%} of a core"] = _v(
        share <= SAMPLER_CPU_TARGET if share is not None else None,
        f"{share:.1%}" if share is not None else None)
    return {"rows": rows, "verdicts": verdicts}


def run_memory(python: str, seconds: float, timeout: float) -> list[dict]:
    runs = []
    for name in MEMORY_RUNS:
        res, seen = _run([python, CHILD, "memory", name, str(seconds)], timeout + seconds)
        if res is None:
            res = {"run": name, "error": seen["error"], "stderr_tail": seen["stderr_tail"]}
            print(f"  memory / {name}: {res['error']}", file=sys.stderr)
        runs.append(res)
    return runs


def summarize_memory(runs: list[dict]) -> dict:
    """memory_bytes at the end of each run against the cap holter reports
    (memory_cap_bytes) and against the Targets table's 64 MiB default; and,
    from the growth per new stack, when 64 MiB would be reached."""
    rows = {}
    within_cap = within_target = True
    cap_ok = True
    for r in runs:
        if "error" in r:
            rows[r["run"]] = {"error": r["error"]}
            within_cap = within_target = False
            continue
        st, tl = r["status_end"], r["timeline"]
        cap = st.get("memory_cap_bytes")
        first = tl[0] if tl else {"memory_bytes": st["memory_bytes"], "unique_stacks": 0, "t": 0.0}
        half = [p for p in tl if p["t"] >= r["seconds"] / 2] or [first]
        span = r["seconds"] - half[0]["t"]
        growth = (st["memory_bytes"] - half[0]["memory_bytes"]) / span * 60 if span > 0 else 0.0
        new_stacks = st["unique_stacks"] - first["unique_stacks"]
        per_stack = (st["memory_bytes"] - first["memory_bytes"]) / new_stacks if new_stacks > 0 else None
        # The rate of new stacks late in the run: a steady program's falls to zero.
        stacks_per_s = (st["unique_stacks"] - half[0]["unique_stacks"]) / span if span > 0 else 0.0
        to_target = None
        if per_stack and stacks_per_s > 0 and st["memory_bytes"] < MEMORY_TARGET:
            to_target = (MEMORY_TARGET - st["memory_bytes"]) / per_stack / stacks_per_s
        rows[r["run"]] = {"target_hz": r["target_hz"], "seconds": r["seconds"], "samples": st["samples"],
                          "thread_samples": st["thread_samples"], "unique_stacks": st["unique_stacks"],
                          "unique_frames": st["unique_frames"], "lost": st["lost"], "torn": st["torn"],
                          "memory_first": first["memory_bytes"], "memory_end": st["memory_bytes"],
                          "growth_per_min_second_half": growth, "bytes_per_new_stack": per_stack,
                          "new_stacks_per_s": stacks_per_s, "seconds_to_target": to_target,
                          "cap": cap, "rss_growth": r["rss_after"] - r["rss_before"]}
        within_cap = within_cap and (cap is None or st["memory_bytes"] <= cap)
        within_target = within_target and st["memory_bytes"] <= MEMORY_TARGET
        cap_ok = cap_ok and cap is not None and cap <= MEMORY_TARGET
    ends = [r["memory_end"] for r in rows.values() if "memory_end" in r]
    caps = [r["cap"] for r in rows.values() if r.get("cap") is not None]
    worst = f"at most {_mib(max(ends))} MiB" if ends else None
    return {"rows": rows, "verdicts": {
        "memory_bytes ≤ reported memory_cap_bytes": _v(within_cap if ends else None, worst),
        f"memory_bytes ≤ {MEMORY_TARGET >> 20} MiB after the runs": _v(within_target if ends else None, worst),
        f"reported cap ≤ {MEMORY_TARGET >> 20} MiB": _v(cap_ok if ends else None,
                                                      f"{_mib(max(caps))} MiB" if caps else "none reported"),
    }}


# ------------------------------------------------------------- markdown ---

def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def _verdicts_line(title: str, verdicts: dict) -> str:
    parts = [f"{k}: {_verdict(v['ok'])}" + (f" ({v['value']})" if v["value"] else "") for k, v in verdicts.items()]
    return f"**{title}:** " + "; ".join(parts) + "."


def _pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def _mib(x: float | None) -> str:
    return "–" if x is None else f"{x / 2**20:.1f}"


def markdown_overhead(info: dict, res: dict, workloads: list[str], sizes: dict, profilers: list[str],
                      cannot: dict, repeat: int, peer_repeat: int) -> list[str]:
    rows, summ = res["rows"], res["summary"]
    cols = [_config_name(p, hz) for hz in RATES for p in profilers]
    runs = f"median of {repeat}" + (f", peers {peer_repeat}" if peer_repeat != repeat else "")
    lines = [f"#### Overhead: wall time of the workload / no profiler ({runs})", ""]
    head = ["workload", "none (s)", "spread"] + [c.replace("@1000", " @1k").replace("@100", " @100") for c in cols]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    for w in workloads:
        row = rows[w]
        base = row["median"].get("none")
        cells = [f"{w} ({sizes[w]:,})", f"{base:.3f}" if base else "fails", _pct(row.get("spread"))]
        for c in cols:
            prof = c.split("@")[0]
            if cannot.get(prof):
                cells.append("—")
            elif c in row["capped"]:
                cells.append(f"> {SLOW_CAP}")
            elif c in row["ratio"]:
                cells.append(f"{row['ratio'][c]:.3f}" + (" †" if prof == "pyinstrument" and w in ONE_THREAD_BLIND else ""))
            else:
                cells.append("fails" if c in row["errors"] else "–")
        lines.append("| " + " | ".join(cells) + " |")
    for label, key in (("**median**", "median"), ("**worst**", "worst")):
        cells = [label, "", ""]
        for c in cols:
            s = summ.get(c)
            if not s:
                cells.append("—")
            elif s[key] >= SLOW_CAP and any(c in rows[w]["capped"] for w in workloads):
                cells.append(f"**≥ {SLOW_CAP}**")
            else:
                cells.append(f"**{s[key]:.3f}**")
        lines.append("| " + " | ".join(cells) + " |")
    cells = ["profiler CPU, % of a core ‡", "", ""]
    for c in cols:
        s = summ.get(c)
        share = s and s.get("profiler_cpu_share")
        cells.append(_pct(share) if share is not None else ("in thread" if c.startswith("pyinstrument") and s else "—"))
    lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    notes = [f"- spread: (slowest − fastest) / median of the no-profiler runs: the noise floor of a ratio."]
    worst = [f"{c} {summ[c]['worst_workload']}" for c in cols if c in summ]
    if worst:
        notes.append("- worst workload per column: " + ", ".join(worst) + ".")
    if any(w in ONE_THREAD_BLIND for w in workloads) and "pyinstrument" in profilers:
        notes.append("- † pyinstrument profiles only the thread that started it: on `threads` it samples "
                     "the main thread's join(), none of the work.")
    notes.append("- ‡ holter: its sampler thread during the workload, / workload time; py-spy, Austin: their "
                 "process (wait4) less the child's own CPU, / their lifetime (includes start-up); "
                 "pyinstrument runs in the program's thread, so its cost is all in the ratio.")
    for hz in RATES:
        s = summ.get(_config_name("holter", hz))
        if s and "holter_achieved_hz" in s:
            notes.append(f"- holter @{hz} Hz during these runs: {s['holter_achieved_hz']:,.0f} Hz achieved "
                         f"(median), {s['holter_torn']} torn of {s['holter_thread_samples'] + s['holter_torn']:,} "
                         "stacks read.")
    for p in profilers:
        if cannot.get(p):
            notes.append(f"- **{p} cannot run here:** `{cannot[p]}`")
    capped = [f"{w} / {c}" for w in workloads for c in rows[w]["capped"]]
    if capped:
        notes.append(f"- > {SLOW_CAP}: stopped after {SLOW_CAP}× the no-profiler time (plus 3 s for start-up) "
                     "and not run again; counted as " + f"{SLOW_CAP}× in the median and worst: " + ", ".join(capped) + ".")
    for w in workloads:
        for c, err in rows[w]["errors"].items():
            notes.append(f"- {w} / {c} failed (at least once): `{err}`")
        for c, err in rows[w]["retried"].items():
            notes.append(f"- {w} / {c} failed once and was run again: `{err}`")
    lines += notes + [""]
    lines.append(_verdicts_line("Overhead targets", res["verdicts"]))
    return lines


def markdown_rates(res: dict, seconds: float, repeat: int) -> list[str]:
    lines = [f"#### holter's achieved rate ({seconds:g} s after a 0.2 s warm-up, median of {repeat})", "",
             "| scenario | target Hz | achieved Hz | efficiency | worst run Hz | missed /s | torn | "
             "stacks/round | sampler CPU | µs/round |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for sc, r in res["rows"].items():
        if "error" in r:
            lines.append(f"| {sc} | fails: `{r['error']}` |" + " |" * 8)
            continue
        us = r["sampler_us_per_round"]
        lines.append(f"| {sc} | {r['target_hz']:,} | {r['achieved_hz']:,.0f} | {_pct(r['efficiency'])} | "
                     f"{r['achieved_min']:,.0f} | {r['missed_per_s']:,.0f} | {r['torn']} | "
                     f"{r['thread_samples_per_round']:.1f} | {_pct(r['sampler_cpu_share'])} | "
                     f"{'–' if us is None else format(us, '.1f')} |")
    lines += ["", "sampler CPU: the sampler thread's CPU time (/proc/self/task/TID/schedstat) / elapsed time, "
              "as a share of one core.", "",
              _verdicts_line("Rate targets", res["verdicts"])]
    return lines


def markdown_memory(res: dict, seconds: float) -> list[str]:
    lines = [f"#### holter's memory over long runs ({seconds:g} s each)", "",
             "| run | rate | rounds | stacks recorded | unique stacks | unique frames | "
             "memory first (MiB) | memory end (MiB) | growth, 2nd half (MiB/min) | bytes / new stack | "
             f"{MEMORY_TARGET >> 20} MiB reached after | lost | reported cap (MiB) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in res["rows"].items():
        if "error" in r:
            lines.append(f"| {name} | fails: `{r['error']}` |" + " |" * 11)
            continue
        per = r["bytes_per_new_stack"]
        to = r["seconds_to_target"]
        lines.append(f"| {name} | {r['target_hz']:,} Hz | {r['samples']:,} | "
                     f"{r['thread_samples']:,} | {r['unique_stacks']:,} | {r['unique_frames']:,} | "
                     f"{_mib(r['memory_first'])} | {_mib(r['memory_end'])} | "
                     f"{r['growth_per_min_second_half'] / 2**20:.2f} | {'–' if per is None else f'{per:,.0f}'} | "
                     f"{'–' if to is None else _duration(to)} | {r['lost']} | {_mib(r['cap'])} |")
    lines += ["", f"steady: the workloads in a loop on three threads plus 20 idle threads; storm: chains of "
              f"{STORM_FUNCS:,} generated functions, a new stack at nearly every sample. \"{MEMORY_TARGET >> 20} MiB "
              "reached after\": at the rate of new stacks in the run's second half and its bytes per new "
              "stack (memory grows with distinct stacks, not with samples); – if no new stacks came.", "",
              _verdicts_line("Memory targets", res["verdicts"])]
    return lines


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


# ----------------------------------------------------------------- main ---

def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("pythons", nargs="*", help="python executables (default: .venv/3.1x/bin/python that exist)")
    p.add_argument("-r", "--repeat", type=int, help="overhead repetitions of none and holter (default 5, --quick 2)")
    p.add_argument("--peer-repeat", type=int, help="overhead repetitions of the peers (default min(repeat, 3))")
    p.add_argument("--quick", action="store_true", help="smaller workloads, fewer repetitions, short runs")
    p.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    p.add_argument("-w", "--workloads", default=",".join(SIZES), help="comma-separated subset of " + ",".join(SIZES))
    p.add_argument("-p", "--profilers", default=",".join(PROFILERS),
                   help="comma-separated subset of " + ",".join(PROFILERS + OPTIONAL_PROFILERS))
    p.add_argument("--parts", default="overhead,rate,memory", help="comma-separated subset of overhead,rate,memory")
    p.add_argument("--rate-seconds", type=float, help="length of a rate run (default 2, --quick 0.5)")
    p.add_argument("--rate-repeat", type=int, help="repetitions of each rate run (default 3, --quick 1)")
    p.add_argument("--memory-seconds", type=float, help="length of a memory run (default 20, --quick 3)")
    p.add_argument("--timeout", type=float, default=120, help="seconds before a child is killed")
    args = p.parse_args(argv)

    os.chdir(REPO_DIR)        # relative interpreter paths are from the repo root
    pythons = args.pythons or _default_pythons()
    if not pythons:
        p.error("no python given and no .venv/3.1x/bin/python found")
    workloads = args.workloads.split(",")
    profilers = args.profilers.split(",")
    parts = args.parts.split(",")
    for w in workloads:
        if w not in SIZES:
            p.error(f"unknown workload {w!r}")
    for pr in profilers:
        if pr not in PROFILERS + OPTIONAL_PROFILERS:
            p.error(f"unknown profiler {pr!r}")
    for part in parts:
        if part not in ("overhead", "rate", "memory"):
            p.error(f"unknown part {part!r}")
    repeat = args.repeat or (2 if args.quick else 5)
    peer_repeat = min(repeat, args.peer_repeat or 3)
    rate_seconds = args.rate_seconds or (0.5 if args.quick else 2.0)
    rate_repeat = args.rate_repeat or (1 if args.quick else 3)
    memory_seconds = args.memory_seconds or (3.0 if args.quick else 20.0)
    sizes = {w: SIZES[w][1 if args.quick else 0] for w in workloads}

    report = {"started": datetime.datetime.now().isoformat(timespec="seconds"),
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "processor": platform.processor(), "loadavg_start": os.getloadavg()},
              "repeat": repeat, "peer_repeat": peer_repeat, "quick": args.quick, "sizes": sizes, "rates": RATES,
              "targets": {f"{s} @{hz}": v for (s, hz), v in TARGETS.items()} | {
                  "rate_efficiency": RATE_EFFICIENCY_TARGET, "sampler_cpu_share": SAMPLER_CPU_TARGET,
                  "memory": MEMORY_TARGET},
              "versions": []}
    tables = []
    holter_ok = targets_ok = True
    t_start = time.monotonic()
    for python in pythons:
        info = _python_info(python)
        cannot = probe_peers(python, info, profilers)
        print(f"sampler bench: CPython {info['version']} ({python}); load {os.getloadavg()[0]:.2f}",
              file=sys.stderr)
        for pr, why in cannot.items():
            if why:
                print(f"  {pr} cannot run: {why}", file=sys.stderr)
        peers = ", ".join(f"{pr} {info.get({'py-spy-nb': 'py-spy', 'austin': 'austin-dist'}.get(pr, pr))}"
                          for pr in profilers if pr != "holter")
        lines = [f"### CPython {info['version']} — holter {info.get('holter')}; {peers}", ""]
        version = {"python": python, "info": info, "cannot_run": cannot,
                   "loadavg_start": os.getloadavg()}
        if "overhead" in parts:
            runs = run_overhead(python, workloads, sizes, profilers, repeat, peer_repeat, cannot, args.timeout)
            res = summarize_overhead(runs, workloads, profilers)
            by_main_cpu = summarize_overhead(runs, workloads, profilers, "main_thread_cpu_seconds")
            version |= {"overhead_runs": runs, "overhead": res,
                        "overhead_cpu": summarize_overhead(runs, workloads, profilers, "cpu_seconds"),
                        "overhead_main_thread_cpu": by_main_cpu}
            lines += markdown_overhead(info, res, workloads, sizes, profilers, cannot, repeat, peer_repeat)
            alt = [f"{by_main_cpu['summary'][c]['median']:.3f}× median, {by_main_cpu['summary'][c]['worst']:.3f}× worst "
                   f"@{c.split('@')[1]} Hz" for c in (_config_name("holter", hz) for hz in RATES)
                   if c in by_main_cpu["summary"]]
            if alt:
                lines += ["", "holter by the main thread's CPU time instead of wall time (leaves out time the "
                          "program waited for a CPU; on `threads` the main thread only joins): " + "; ".join(alt) + "."]
            lines += [""]
            holter_ok = holter_ok and not any(c.startswith("holter") for r in res["rows"].values() for c in r["errors"])
            targets_ok = targets_ok and all(v["ok"] is not False for v in res["verdicts"].values())
        if "rate" in parts:
            runs = run_rates(python, rate_seconds, rate_repeat, args.timeout)
            res = summarize_rates(runs)
            version |= {"rate_runs": runs, "rate": res}
            lines += markdown_rates(res, rate_seconds, rate_repeat) + [""]
            holter_ok = holter_ok and not any("error" in r for r in res["rows"].values())
            targets_ok = targets_ok and all(v["ok"] is not False for v in res["verdicts"].values())
        if "memory" in parts:
            runs = run_memory(python, memory_seconds, args.timeout)
            res = summarize_memory(runs)
            version |= {"memory_runs": runs, "memory": res}
            lines += markdown_memory(res, memory_seconds) + [""]
            holter_ok = holter_ok and not any("error" in r for r in res["rows"].values())
            targets_ok = targets_ok and all(v["ok"] is not False for v in res["verdicts"].values())
        version["loadavg_end"] = os.getloadavg()
        lines.append(f"Load average (1 min) {version['loadavg_start'][0]:.2f} at the start of this version, "
                     f"{version['loadavg_end'][0]:.2f} at the end; {os.cpu_count()} CPUs.")
        table = "\n".join(lines)
        tables.append(table)
        print(table, flush=True)
        print(f"  CPython {info['version']} done, {time.monotonic() - t_start:.0f} s so far; "
              f"load {os.getloadavg()[0]:.2f}", file=sys.stderr)
        report["versions"].append(version)

    report["seconds"] = time.monotonic() - t_start
    report["machine"]["loadavg_end"] = os.getloadavg()
    os.makedirs(RESULTS_DIR, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(RESULTS_DIR, f"sampler-{stamp}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report | {"markdown": tables}, f, indent=1)
    print(f"sampler bench: raw results in {os.path.relpath(path, REPO_DIR)} "
          f"({report['seconds']:.0f} s)", file=sys.stderr)
    if not holter_ok:
        return 2
    return 1 if args.strict and not targets_ok else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
