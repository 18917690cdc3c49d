"""The measured side of bench/sampler.py: what runs inside each child
interpreter. Standard library, holter and (for its configuration)
pyinstrument only; the result is written as JSON to $HOLTER_BENCH_OUT.

    python bench/sampler_child.py overhead WORKLOAD PROFILER HZ N
    python bench/sampler_child.py rate SCENARIO SECONDS
    python bench/sampler_child.py memory RUN SECONDS

PROFILER is none, holter or pyinstrument (py-spy and Austin run outside,
around this process, which then waits for $HOLTER_BENCH_GO to exist before
timing anything).
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time

from tracer import _load_workload

# name: (target Hz, busy threads, blocked threads)
RATE_SCENARIOS = {
    "10 kHz, 1 busy thread": (10_000, 1, 0),
    "1 kHz, 1 busy + 99 blocked": (1000, 1, 99),
    "1 kHz, 1 busy + 49 blocked": (1000, 1, 49),
    "1 kHz, 50 busy": (1000, 50, 0),
}
MEMORY_RUNS = {         # name: target Hz
    "steady": 1000,
    "storm": 10_000,
}
RESULT_ENV = "HOLTER_BENCH_OUT"
GO_ENV = "HOLTER_BENCH_GO"


def _tids() -> set[int]:
    return {int(t) for t in os.listdir("/proc/self/task")}


def _thread_cpu_ns(tid: int | None) -> int | None:
    """CPU time of one of our threads, from the kernel (ns), or None."""
    if tid is None:
        return None
    try:
        with open(f"/proc/self/task/{tid}/schedstat") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/self/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 10**9 // os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _self_cpu() -> float:
    import resource
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _start_holter(hz: float) -> int | None:
    """Starts holter's sampler; returns its thread's kernel id."""
    import holter
    before = _tids()
    holter.start(interval=1.0 / hz, mode="wall", serve=False)
    new = _tids() - before
    return new.pop() if len(new) == 1 else None


def _wait_go() -> None:
    go = os.environ.get(GO_ENV)
    if not go:
        return
    deadline = time.monotonic() + 60
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            raise SystemExit("the profiler never said it was sampling")
        time.sleep(0.002)


def child_overhead(name: str, profiler: str, hz: int, n: int) -> dict:
    mod, _ = _load_workload(name)
    _wait_go()
    sampler_tid = prof = None
    if profiler == "holter":
        sampler_tid = _start_holter(hz)
    elif profiler == "pyinstrument":
        from pyinstrument import Profiler
        prof = Profiler(interval=1.0 / hz)
        prof.start()

    c0 = _thread_cpu_ns(sampler_tid)
    cpu0, th0 = time.process_time(), time.thread_time()
    t0 = time.perf_counter()
    mod.run(n)
    t1 = time.perf_counter()
    cpu1, th1 = time.process_time(), time.thread_time()
    c1 = _thread_cpu_ns(sampler_tid)

    out = {"workload": name, "profiler": profiler, "hz": hz, "n": n,
           "seconds": t1 - t0, "cpu_seconds": cpu1 - cpu0, "main_thread_cpu_seconds": th1 - th0}
    if profiler == "holter":
        import holter
        st = holter._sampling.status()
        holter.stop()
        out["holter"] = st
        if c0 is not None and c1 is not None:
            out["profiler_cpu_seconds"] = (c1 - c0) / 1e9
    elif profiler == "pyinstrument":
        session = prof.stop()
        out["samples"] = session.sample_count
    out["self_cpu_total"] = _self_cpu()
    return out


def _spin_until(deadline: float) -> int:
    """A busy Python thread: a few frames deep, until the deadline."""
    def inner(k):
        acc = 0
        for i in range(50):
            acc = (acc * 31 + i + k) & 0xFFFF
        return acc

    def outer():
        return inner(1) + inner(2)

    loops = 0
    while time.perf_counter() < deadline:
        outer()
        loops += 1
    return loops


def child_rate(scenario: str, seconds: float) -> dict:
    import holter
    hz, busy, blocked = RATE_SCENARIOS[scenario]
    ev, go = threading.Event(), threading.Event()
    stop = [False]

    def spinner():
        go.wait()
        while not stop[0]:
            _spin_until(time.perf_counter() + 0.05)

    # Every thread exists (busy ones parked on `go`) before the clock starts.
    # One busy thread: the main thread spins. Several: they spin and the
    # main thread sleeps, since among 50 spinning threads it would get the
    # GIL too rarely to read the status on time. The window is what the
    # sampler's own clock says between the two status() calls.
    others = [threading.Thread(target=ev.wait, daemon=True) for _ in range(blocked)]
    others += [threading.Thread(target=spinner, daemon=True) for _ in range(busy if busy > 1 else 0)]
    for t in others:
        t.start()
    tid = _start_holter(hz)
    go.set()
    wait = time.sleep if busy > 1 else (lambda d: _spin_until(time.perf_counter() + d))
    wait(0.2)
    s0, c0, p0, m0 = holter._sampling.status(), _thread_cpu_ns(tid), time.process_time(), time.thread_time()
    wait(seconds)
    s1, c1, p1, m1 = holter._sampling.status(), _thread_cpu_ns(tid), time.process_time(), time.thread_time()
    holter.stop()
    stop[0] = True
    ev.set()
    for t in others:
        t.join()
    elapsed = s1["elapsed_s"] - s0["elapsed_s"]
    rounds = s1["samples"] - s0["samples"]
    out = {"scenario": scenario, "target_hz": hz, "busy": busy, "blocked": blocked,
           "seconds": elapsed, "rounds": rounds,
           "achieved_hz": rounds / elapsed if elapsed > 0 else 0.0,
           "thread_samples": s1["thread_samples"] - s0["thread_samples"],
           "missed": s1["missed"] - s0["missed"], "torn": s1["torn"] - s0["torn"],
           "lost": s1["lost"] - s0["lost"], "threads": max(s0["threads"], s1["threads"]),
           "status_end": s1}
    if c0 is not None and c1 is not None and elapsed > 0:
        out["sampler_cpu_seconds"] = (c1 - c0) / 1e9
        out["sampler_cpu_share"] = (c1 - c0) / 1e9 / elapsed
        out["sampler_us_per_round"] = (c1 - c0) / 1e3 / rounds if rounds else None
    if busy == 1:       # cross-check: the process's CPU less the one busy thread's
        out["process_minus_busy_share"] = ((p1 - p0) - (m1 - m0)) / elapsed if elapsed > 0 else None
    return out


def _vm_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


STORM_FUNCS = 2000


def _storm_functions():
    """STORM_FUNCS generated functions that call one another in chains
    picked by their argument: nearly every chain is a new stack."""
    src = ["def spin(x):\n    for i in range(30):\n        x = (x * 31 + i) & 0xFFFF\n    return x\n"]
    for i in range(STORM_FUNCS):
        src.append(f"def f{i}(d, x):\n"
                   f"    if d == 0:\n"
                   f"        return spin(x)\n"
                   f"    return F[(x * {2 * i + 7} + d) % {STORM_FUNCS}](d - 1, (x * 1103515245 + {i}) & 0x7FFFFFFF)\n")
    ns: dict = {}
    exec(compile("\n".join(src), "<storm>", "exec"), ns)
    ns["F"] = [ns[f"f{i}"] for i in range(STORM_FUNCS)]
    return ns["F"]


def child_memory(run: str, seconds: float) -> dict:
    import holter
    hz = MEMORY_RUNS[run]
    ev = threading.Event()
    stop_at = [0.0]
    extra: list[threading.Thread] = []
    if run == "storm":
        funcs = _storm_functions()
        x = [12345]

        def step():
            x[0] = (x[0] * 1103515245 + 12345) & 0x7FFFFFFF
            funcs[x[0] % STORM_FUNCS](5 + x[0] % 56, x[0])
    else:
        mods = [(_load_workload(w)[0], n) for w, n in
                (("scheduler", 2000), ("text", 5000), ("regex", 1000), ("generators", 20000),
                 ("deep", 200), ("fib", 18))]
        k = [0]

        def step():
            mod, n = mods[k[0] % len(mods)]
            k[0] += 1
            mod.run(n)

        def background(mod, n):
            while time.perf_counter() < stop_at[0]:
                mod.run(n)

        for w, n in (("floats", 5000), ("nbody", 1000)):
            extra.append(threading.Thread(target=background, args=(_load_workload(w)[0], n), daemon=True))
        extra += [threading.Thread(target=ev.wait, daemon=True) for _ in range(20)]

    rss0 = _vm_rss()
    _start_holter(hz)
    t0 = time.perf_counter()
    stop_at[0] = t0 + seconds
    for t in extra:
        t.start()
    timeline = []
    next_mark = t0
    while True:
        now = time.perf_counter()
        if now >= next_mark:
            st = holter._sampling.status()
            timeline.append({"t": round(now - t0, 3), "memory_bytes": st["memory_bytes"],
                             "unique_stacks": st["unique_stacks"], "samples": st["samples"]})
            next_mark += seconds / 20
        if now >= stop_at[0]:
            break
        step()
    st = holter._sampling.status()
    holter.stop()
    ev.set()
    for t in extra:
        t.join()
    return {"run": run, "target_hz": hz, "seconds": time.perf_counter() - t0, "status_end": st,
            "timeline": timeline, "rss_before": rss0, "rss_after": _vm_rss()}


def child_main(argv: list[str]) -> int:
    kind = argv[0]
    if kind == "overhead":
        out = child_overhead(argv[1], argv[2], int(argv[3]), int(argv[4]))
    elif kind == "rate":
        out = child_rate(argv[1], float(argv[2]))
    elif kind == "memory":
        out = child_memory(argv[1], float(argv[2]))
    else:
        raise SystemExit(f"unknown child {kind!r}")
    with open(os.environ[RESULT_ENV], "w", encoding="utf-8") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
