"""Short scenarios for the stack sampler, one per run:

    python sampler_features.py SCENARIO [ARGS...]

Each samples itself with holter (no server) and prints one JSON line with
what tests/test_sampler.py checks:

  rate INTERVAL SECONDS   a busy thread and a sleeping main thread: status
  churn SECONDS           threads starting and ending all the time, at 5 kHz
  deep DEPTH              a recursion DEPTH frames deep, busy at the bottom
                          (the recursion limit raised as needed)
  gen                     a busy generator and busy asyncio tasks
  context                 holter.profile() around a busy function
  window                  phase_one() for 1 s, then phase_two() for 2.5 s
  filters                 a busy and a sleeping named thread: thread=, idle=,
                          reset=, names
  bursty SECONDS          CPU mode: a thread that wakes every millisecond for
                          a few microseconds of work, beside a busy one
"""
import asyncio
import json
import sys
import threading
import time

import holter
from holter import _sampling


def spin(seconds):
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def emit(**fields):
    print(json.dumps(fields), flush=True)


def export_text(fmt="folded", **kw):
    return holter.export(fmt, **kw).decode()


# --- rate ---------------------------------------------------------------------

def rate(interval, seconds):
    holter.start(interval=float(interval), mode="wall", serve=False)
    worker = threading.Thread(target=spin, args=(float(seconds),), name="spinner")
    worker.start()
    time.sleep(float(seconds))
    worker.join()
    status = _sampling.status()
    holter.stop()
    emit(status=status, stopped=_sampling.status())


# --- churn --------------------------------------------------------------------

def churn(seconds):
    seconds = float(seconds)
    natives = set()                 # kernel tids of every thread this program ran
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def short_lived(i):
        with lock:
            natives.add(threading.get_native_id())
        x = 0
        for k in range(200 + i % 300):          # a few microseconds of work
            x += k
        if i % 7 == 0:
            time.sleep(0.0005)

    def spawner(base):
        natives.add(threading.get_native_id())
        i = 0
        while time.perf_counter() < stop:
            batch = [threading.Thread(target=short_lived, args=(base + i + k,))
                     for k in range(8)]
            for t in batch:
                t.start()
            for t in batch:
                t.join()
            i += 8

    natives.add(threading.get_native_id())
    holter.start(interval=0.0002, mode="wall", serve=False)
    spawners = [threading.Thread(target=spawner, args=(k * 10**6,), name=f"spawner-{k}")
                for k in range(3)]
    for t in spawners:
        t.start()
    for t in spawners:
        t.join()
    status = _sampling.status()
    threads = json.loads(holter.export("threads"))["threads"]
    folded = export_text()
    holter.stop()
    emit(status=status, created=len(natives), sampled=len(threads),
         # id 0 is "other threads": every thread past the profile's cap
         unknown=[t for t in threads if t["native_id"] not in natives and t["id"] != 0],
         short_lived_samples=sum(int(line.rsplit(" ", 1)[1]) for line in folded.splitlines()
                                 if "short_lived (" in line))


# --- deep ---------------------------------------------------------------------

def recurse(n, done):
    if n > 1:
        return recurse(n - 1, done)
    while not done.is_set():                    # MARK:deep-bottom
        pass
    return 0


def deep(depth):
    depth = int(depth)
    sys.setrecursionlimit(max(1000, depth + 100))
    done = threading.Event()
    holter.start(interval=0.002, mode="wall", serve=False)
    worker = threading.Thread(target=recurse, args=(depth, done), name="deep")
    worker.start()
    time.sleep(1.0)
    done.set()
    worker.join()
    status = _sampling.status()
    folded = export_text(thread=worker.ident)
    holter.stop()
    emit(status=status, folded=folded)


# --- generators and asyncio ---------------------------------------------------

def produce(n):
    for i in range(n):
        spin(0.002)                             # MARK:produce-spin
        yield i


def consume():
    return sum(produce(250))


async def crunch(name, rounds):
    for _ in range(rounds):
        spin(0.002)                             # MARK:crunch-spin
        await asyncio.sleep(0)


async def gather_all():
    await asyncio.gather(crunch("a", 120), crunch("b", 120))


def gen():
    holter.start(interval=0.001, mode="wall", serve=False)
    consume()
    asyncio.run(gather_all())
    folded = export_text(thread=threading.get_ident())
    holter.stop()
    emit(folded=folded)


# --- the context manager ------------------------------------------------------

def in_context():
    spin(0.5)


def context():
    before = holter.sampling()
    with holter.profile(interval=0.001, mode="cpu") as p:
        during = holter.sampling()
        in_context()
    after = holter.sampling()
    first = p.export("folded").decode()
    lp_first = json.loads(p.export("liveprofiler"))["elapsed"]
    status = _sampling.status()
    spin(0.3)                                   # not sampled any more
    second = p.export("folded").decode()
    lp_second = json.loads(p.export("liveprofiler"))["elapsed"]
    again = holter.start(interval=0.01, serve=False)    # a new one may start
    again.stop()
    emit(before=before, during=during, after=after, first=first, second=second,
         status=status, mode=p.mode, interval=p.interval, lp_first=lp_first, lp_second=lp_second)


# --- windows ------------------------------------------------------------------

def phase_one():
    spin(1.0)


def phase_two():
    spin(2.5)


def window():
    holter.start(interval=0.002, mode="wall", serve=False)
    phase_one()
    phase_two()
    emit(last1=export_text(window=1), last30=export_text(window=30), all=export_text(window=0),
         top1=json.loads(holter.export("top", window=1)))
    holter.stop()


# --- filters, idle, reset, names ----------------------------------------------

def busy_a(stop):
    while not stop.is_set():
        spin(0.01)


def sleepy_b(stop):
    stop.wait()                                 # MARK:sleepy-wait


def filters():
    stop = threading.Event()
    holter.start(interval=0.002, mode="wall", serve=False)
    a = threading.Thread(target=busy_a, args=(stop,), name="worker-A")
    b = threading.Thread(target=sleepy_b, args=(stop,), name="worker-B")
    a.start()
    b.start()
    time.sleep(1.0)
    out = {
        "ids": {"A": a.ident, "B": b.ident, "main": threading.get_ident()},
        "all": export_text(),
        "only_a": export_text(thread=a.ident),
        "only_b": export_text(thread=b.ident),
        "nobody": export_text(thread=12345),
        "busy": export_text(idle=False),
        "threads": json.loads(holter.export("threads")),
        "flame": json.loads(holter.export("flame")),
        "speedscope_a": json.loads(holter.export("speedscope", thread=a.ident)),
        "status_before_reset": _sampling.status(),
    }
    out["reset_read"] = export_text(reset=True)
    out["after_reset"] = export_text()
    out["status_after_reset"] = _sampling.status()
    time.sleep(0.3)
    out["later"] = export_text()
    stop.set()
    a.join()
    b.join()
    holter.stop()
    emit(**out)


# --- CPU mode and short bursts ------------------------------------------------

def bursty(seconds):
    seconds = float(seconds)
    end = time.perf_counter() + seconds
    cpu = {}

    def tick():
        c0 = time.thread_time()
        while time.perf_counter() < end:
            sum(range(50))                      # a few microseconds
            time.sleep(0.001)
        cpu["tick"] = time.thread_time() - c0

    def burn():
        c0 = time.thread_time()
        while time.perf_counter() < end:
            pass
        cpu["burn"] = time.thread_time() - c0

    holter.start(interval=0.002, mode="cpu", serve=False)
    threads = [threading.Thread(target=tick, name="tick"),
               threading.Thread(target=burn, name="burn")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    folded = export_text()
    holter.stop()
    emit(cpu=cpu, folded=folded)


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
