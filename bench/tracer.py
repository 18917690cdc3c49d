"""Tracer cost: holter's exact line counter against its own floor and heartrate.

Runs CPU-bound pure-Python workloads (bench/workloads/*.py) on each given
CPython under five configurations, each measurement in a fresh process:

  untraced      no hook at all: the baseline
  floor         holter's hook receiving the same events and counting nothing
                (the lower bound for any exact counter built on that hook)
  holter        holter counting every line, server off (serve=False)
  holter+srv    the same with holter's HTTP server running, idle (serve=True)
  heartrate     heartrate.trace(), its Python trace function and Flask thread

Only the workload is timed (time.perf_counter() around run() in the child),
not interpreter start-up nor tracer set-up. Configurations are interleaved
within each repetition (in a rotating order) so that they share the
machine's noise; the median over repetitions is reported. heartrate is
20-60x slower than the rest, so it runs in fewer repetitions (default 3) to
keep the whole run, all three versions, under about ten minutes. The child also
checks that holter counted exactly: the workload's `# hot` line must have
been hit `expected_hot(n)` times (and zero times under the floor).

    bench/run_tracer.sh                          every .venv/3.1x that exists
    bench/run_tracer.sh --quick                  smaller sizes, 3 repetitions
    bench/run_tracer.sh .venv/3.12/bin/python -r 7 -w nbody,fib
    bench/run_tracer.sh --strict                 exit 1 if a target is missed

Exit status: 2 if a count check failed or holter's configuration crashed,
1 under --strict if a target is missed, else 0.

Prints one markdown table per Python version and writes every raw timing to
bench/results/tracer-<time>.json.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
WORKLOAD_DIR = os.path.join(BENCH_DIR, "workloads")
RESULTS_DIR = os.path.join(BENCH_DIR, "results")

CONFIGS = ["untraced", "floor", "holter", "holter+srv", "heartrate"]

# Workload sizes: full (~0.2-0.4 s untraced on 3.12) and --quick.
SIZES = {
    "nbody": (60_000, 15_000),
    "fib": (32, 29),
    "spectral_norm": (220, 110),
    "text": (200_000, 50_000),
    "threads": (500_000, 125_000),
}
# Workloads where heartrate does not see the work (it traces one thread):
# shown, but left out of the added-overhead target.
ONE_THREAD_BLIND = {"threads"}

HOLTER_FLOOR_TARGET = 1.15     # holter / floor, on every workload
ADDED_RATIO_TARGET = 5.0       # (heartrate - untraced) / (holter - untraced)
RESULT_PREFIX = "TRACER-BENCH-RESULT "


# ---------------------------------------------------------------- child ---

def _load_workload(name: str):
    path = os.path.join(WORKLOAD_DIR, name + ".py")
    spec = importlib.util.spec_from_file_location("bench_workload_" + name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, path


def _hot_line(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        hot = [i for i, line in enumerate(f, 1) if line.rstrip().endswith("# hot")]
    if len(hot) != 1:
        raise SystemExit(f"{path}: expected exactly one line marked '# hot', found {len(hot)}")
    return hot[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, timeout: float = 20.0) -> None:
    """Waits until heartrate's Flask thread accepts connections, so that its
    start-up is not timed as part of the workload."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"heartrate's server did not listen on port {port}")
            time.sleep(0.05)


def _start_heartrate(path: str) -> None:
    import heartrate
    port = _free_port()
    # Traces this thread only; the calling file (this one) is always traced
    # too, which costs a handful of line events around run().
    heartrate.trace(files=heartrate.files.path_contains(path), port=port, daemon=True)
    _wait_listening(port)


def child(name: str, config: str, n: int) -> dict:
    mod, path = _load_workload(name)
    hot = _hot_line(path)
    session = None
    if config in ("floor", "holter", "holter+srv"):
        import holter
        from holter import _session
        session = _session.start(holter.files.path_contains(path), {path}, "127.0.0.1", 0,
                                 False, None, True, serve=(config == "holter+srv"),
                                 floor=(config == "floor"))
    elif config == "heartrate":
        _start_heartrate(path)
    elif config != "untraced":
        raise SystemExit(f"unknown configuration {config!r}")

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    mod.run(n)
    t1 = time.perf_counter()
    cpu1 = time.process_time()

    out = {"workload": name, "config": config, "n": n,
           "seconds": t1 - t0, "cpu_seconds": cpu1 - cpu0}
    if config == "heartrate":
        if sys.gettrace() is None:      # heartrate set up but not tracing: not a measurement
            raise RuntimeError("heartrate.trace() left no trace function on this thread")
        sys.settrace(None)
    if session is not None:
        import holter
        counts = holter.counts(path)
        status = holter.status()
        holter.stop()
        want = 0 if config == "floor" else mod.expected_hot(n)
        out["check"] = {"hot_line": hot, "hits": counts.get(hot, 0), "expected": want,
                        "total_hits": sum(counts.values()),
                        "hook_errors": status.get("hook_errors"),
                        "ok": counts.get(hot, 0) == want and (want == 0 or sum(counts.values()) > 0)}
    return out


# --------------------------------------------------------------- parent ---

def _python_info(python: str) -> dict:
    code = ("import json, sys, platform\n"
            "info = {'version': platform.python_version(), 'implementation': platform.python_implementation()}\n"
            "for mod in ('holter', 'heartrate', 'flask', 'werkzeug', 'executing'):\n"
            "    try:\n"
            "        from importlib.metadata import version\n"
            "        info[mod] = version(mod)\n"
            "    except Exception as e:\n"
            "        info[mod] = None\n"
            "try:\n"
            "    import heartrate\n"
            "    info['heartrate_import_error'] = None\n"
            "except Exception as e:\n"
            "    info['heartrate_import_error'] = '%s: %s' % (type(e).__name__, e)\n"
            "print(json.dumps(info))\n")
    res = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=REPO_DIR)
    if res.returncode != 0:
        raise SystemExit(f"{python}: cannot run: {res.stderr.strip()}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _run_child(python: str, name: str, config: str, n: int, timeout: float) -> dict:
    cmd = [python, os.path.join(BENCH_DIR, "tracer.py"), "--child", name, config, str(n)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_DIR, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"workload": name, "config": config, "n": n, "error": f"timed out after {timeout:.0f} s"}
    for line in reversed(res.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    err = (res.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"workload": name, "config": config, "n": n,
            "error": f"exit {res.returncode}: {err}", "stderr": res.stderr[-4000:]}


def _geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def summarize(runs: list[dict], workloads: list[str], configs: list[str], clock: str) -> dict:
    """Median time per (workload, config) and the derived ratios."""
    key = "seconds" if clock == "wall" else "cpu_seconds"
    rows = {}
    for w in workloads:
        row = {"median": {}, "errors": {}, "checks_ok": True}
        for c in configs:
            mine = [r for r in runs if r["workload"] == w and r["config"] == c]
            good = [r[key] for r in mine if "error" not in r]
            bad = [r["error"] for r in mine if "error" in r]
            if bad:
                row["errors"][c] = bad[0]
            elif good:
                row["median"][c] = statistics.median(good)
            for r in mine:
                if "check" in r and not r["check"]["ok"]:
                    row["checks_ok"] = False
                    row.setdefault("bad_checks", []).append(r["check"] | {"config": c})
        m = row["median"]
        base = m.get("untraced")
        row["ratio"] = {c: m[c] / base for c in m if base}
        if "holter" in m and "floor" in m:
            row["holter_over_floor"] = m["holter"] / m["floor"]
        if base and "holter" in m and "heartrate" in m:
            added_holter = m["holter"] - base
            added_hr = m["heartrate"] - base
            row["added_ratio"] = added_hr / added_holter if added_holter > 0 else float("inf")
        rows[w] = row
    hf = [r["holter_over_floor"] for r in rows.values() if "holter_over_floor" in r]
    ar = [rows[w]["added_ratio"] for w in workloads
          if "added_ratio" in rows[w] and w not in ONE_THREAD_BLIND and math.isfinite(rows[w]["added_ratio"])]
    hr_failed = any("heartrate" in r["errors"] for r in rows.values())
    summary = {
        "holter_over_floor_geomean": _geomean(hf),
        "holter_over_floor_max": max(hf) if hf else float("nan"),
        "holter_ratio_geomean": _geomean([r["ratio"]["holter"] for r in rows.values() if "holter" in r["ratio"]]),
        "floor_ratio_geomean": _geomean([r["ratio"]["floor"] for r in rows.values() if "floor" in r["ratio"]]),
        "heartrate_ratio_geomean": _geomean([rows[w]["ratio"]["heartrate"] for w in workloads
                                             if "heartrate" in rows[w]["ratio"] and w not in ONE_THREAD_BLIND]),
        "added_ratio_geomean": _geomean(ar),
        "added_ratio_min": min(ar) if ar else float("nan"),
        # None: not measured (configuration left out, or heartrate failed).
        "floor_pass": (len(hf) == len(workloads) and max(hf) <= HOLTER_FLOOR_TARGET) if hf else None,
        "added_pass": (min(ar) >= ADDED_RATIO_TARGET) if ar and not hr_failed else None,
        "heartrate_failed": hr_failed,
        "counts_exact": all(r["checks_ok"] for r in rows.values()),
    }
    return {"rows": rows, "summary": summary}


def _fmt_ratio(row: dict, c: str) -> str:
    if c in row["errors"]:
        return "fails"
    r = row["ratio"].get(c)
    return f"{r:.2f}×" if r is not None else "–"


def _num(x: float, spec: str) -> str:
    return "–" if not math.isfinite(x) else format(x, spec)


def _targets_line(s: dict) -> str:
    def verdict(ok):
        return "n/a" if ok is None else ("PASS" if ok else "FAIL")
    if s["added_pass"] is None:
        added = "added-overhead ratio n/a" + (" (heartrate fails)" if s["heartrate_failed"] else "")
    else:
        added = (f"added-overhead ratio geomean {_num(s['added_ratio_geomean'], '.1f')}, "
                 f"min {_num(s['added_ratio_min'], '.1f')} "
                 f"(target ≥ {ADDED_RATIO_TARGET:g}: {verdict(s['added_pass'])})")
    return (f"holter/floor geomean {_num(s['holter_over_floor_geomean'], '.3f')}, "
            f"max {_num(s['holter_over_floor_max'], '.3f')} "
            f"(target ≤ {HOLTER_FLOOR_TARGET}: {verdict(s['floor_pass'])}); {added}")


def markdown(info: dict, result: dict, cpu_result: dict, workloads: list[str], configs: list[str],
             sizes: dict, repeat: int, hr_repeat: int, clock: str) -> str:
    rows, s = result["rows"], result["summary"]
    cols = [c for c in configs if c != "untraced"]
    lines = [f"### CPython {info['version']} — holter {info.get('holter')}, heartrate {info.get('heartrate')}"
             f" (median of {repeat}" + (f", heartrate {hr_repeat}" if hr_repeat != repeat and "heartrate" in configs else "")
             + f"; {'wall' if clock == 'wall' else 'CPU'} time)", ""]
    head = ["workload", "untraced (s)"] + [f"{c} ×" for c in cols] + ["holter/floor", "added-overhead ratio"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    notes = []
    for w in workloads:
        row = rows[w]
        base = row["median"].get("untraced")
        cells = [f"{w} ({sizes[w]:,})", f"{base:.3f}" if base else "fails"]
        cells += [_fmt_ratio(row, c) for c in cols]
        hf = row.get("holter_over_floor")
        cells.append(f"{hf:.3f}" if hf is not None else "–")
        ar = row.get("added_ratio")
        if "heartrate" in row["errors"]:
            cells.append("fails")
        elif ar is None:
            cells.append("–")
        else:
            cells.append(f"{ar:.1f}" + (" †" if w in ONE_THREAD_BLIND else ""))
        if not row["checks_ok"]:
            cells[0] += " **COUNT MISMATCH**"
        lines.append("| " + " | ".join(cells) + " |")
        for c, err in row["errors"].items():
            notes.append(f"- {w} / {c} fails: {err}")
    if "heartrate" in configs and any(w in ONE_THREAD_BLIND for w in workloads):
        notes.append("- † heartrate traces only the thread that called it, so on `threads` it sees "
                     "none of the work: that ratio is not comparable and is left out of the target.")
    lines += [""] + notes + ([""] if notes else [])
    lines.append(
        f"**Summary {info['version']}:** {_targets_line(s)}; "
        f"geomean slowdown floor {_num(s['floor_ratio_geomean'], '.2f')}×, "
        f"holter {_num(s['holter_ratio_geomean'], '.2f')}×, "
        f"heartrate {_num(s['heartrate_ratio_geomean'], '.2f')}× (without threads); "
        f"exact counts: {'yes' if s['counts_exact'] else '**NO**'}.")
    if cpu_result is not result:
        lines += ["", f"By CPU time (less sensitive to other load on the machine): {_targets_line(cpu_result['summary'])}."]
    return "\n".join(lines)


def _default_pythons() -> list[str]:
    found = []
    for minor in ("3.11", "3.12", "3.13"):
        rel = os.path.join(".venv", minor, "bin", "python")
        if os.access(os.path.join(REPO_DIR, rel), os.X_OK):
            found.append(rel)
    return found


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("pythons", nargs="*", help="python executables (default: .venv/3.1x/bin/python that exist)")
    p.add_argument("-r", "--repeat", type=int, help="repetitions per configuration (default 5, --quick 3)")
    p.add_argument("--heartrate-repeat", type=int, help="repetitions of heartrate (default min(repeat, 3))")
    p.add_argument("--quick", action="store_true", help="smaller workloads and 3 repetitions")
    p.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    p.add_argument("-w", "--workloads", default=",".join(SIZES), help="comma-separated subset of " + ",".join(SIZES))
    p.add_argument("-c", "--configs", default=",".join(CONFIGS), help="comma-separated subset of " + ",".join(CONFIGS))
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="time the tables use (both are recorded in the JSON)")
    p.add_argument("--timeout", type=float, default=300, help="seconds before a child is killed")
    p.add_argument("--child", nargs=3, metavar=("WORKLOAD", "CONFIG", "N"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        out = child(args.child[0], args.child[1], int(args.child[2]))
        print(RESULT_PREFIX + json.dumps(out), flush=True)
        return 0

    os.chdir(REPO_DIR)        # relative interpreter paths are from the repo root
    pythons = args.pythons or _default_pythons()
    if not pythons:
        p.error("no python given and no .venv/3.1x/bin/python found")
    workloads = args.workloads.split(",")
    configs = args.configs.split(",")
    for w in workloads:
        if w not in SIZES:
            p.error(f"unknown workload {w!r}")
    for c in configs:
        if c not in CONFIGS:
            p.error(f"unknown configuration {c!r}")
    if "untraced" not in configs:
        configs.insert(0, "untraced")
    repeat = args.repeat or (3 if args.quick else 5)
    hr_repeat = min(repeat, args.heartrate_repeat or 3)
    sizes = {w: SIZES[w][1 if args.quick else 0] for w in workloads}

    report = {"started": datetime.datetime.now().isoformat(timespec="seconds"),
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "processor": platform.processor()},
              "repeat": repeat, "heartrate_repeat": hr_repeat, "quick": args.quick, "clock": args.clock, "sizes": sizes,
              "targets": {"holter_over_floor_max": HOLTER_FLOOR_TARGET, "added_ratio_min": ADDED_RATIO_TARGET},
              "versions": []}
    tables = []
    counts_ok = targets_ok = True
    for python in pythons:
        info = _python_info(python)
        print(f"tracer bench: CPython {info['version']} ({python}), {repeat} repetitions", file=sys.stderr)
        if info.get("heartrate_import_error") and "heartrate" in configs:
            print(f"  heartrate does not import: {info['heartrate_import_error']}", file=sys.stderr)
        runs = []
        started = time.monotonic()
        for rep in range(repeat):
            for wi, w in enumerate(workloads):
                k = (rep + wi) % len(configs)
                order = configs[k:] + configs[:k]       # rotate: no config always goes first
                for c in order:
                    if c == "heartrate" and rep >= hr_repeat:
                        continue
                    r = _run_child(python, w, c, sizes[w], args.timeout)
                    r["repetition"] = rep
                    runs.append(r)
                    if "error" in r:
                        print(f"  {w} / {c}: {r['error']}", file=sys.stderr)
                    elif "check" in r and not r["check"]["ok"]:
                        print(f"  {w} / {c}: count check failed: {r['check']}", file=sys.stderr)
            print(f"  repetition {rep + 1}/{repeat} done, {time.monotonic() - started:.0f} s", file=sys.stderr)
        result = summarize(runs, workloads, configs, args.clock)
        cpu_result = summarize(runs, workloads, configs, "cpu") if args.clock == "wall" else result
        s = result["summary"]
        holter_failed = any(c in r["errors"] for r in result["rows"].values() for c in ("floor", "holter", "holter+srv"))
        counts_ok = counts_ok and s["counts_exact"] and not holter_failed
        targets_ok = targets_ok and s["floor_pass"] is not False and s["added_pass"] is not False
        table = markdown(info, result, cpu_result, workloads, configs, sizes, repeat, hr_repeat, args.clock)
        tables.append(table)
        print(table + "\n", flush=True)
        report["versions"].append({"python": python, "info": info, "runs": runs,
                                   "wall": summarize(runs, workloads, configs, "wall"),
                                   "cpu": summarize(runs, workloads, configs, "cpu")})

    os.makedirs(RESULTS_DIR, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(RESULTS_DIR, f"tracer-{stamp}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report | {"markdown": tables}, f, indent=1)
    print(f"tracer bench: raw results in {os.path.relpath(path, REPO_DIR)}", file=sys.stderr)
    if not counts_ok:
        return 2
    return 1 if args.strict and not targets_ok else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
