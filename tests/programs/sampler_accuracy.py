"""A known split of time over functions on several threads, for checking the
sampler's shares against the truth this program measures itself.

    python sampler_accuracy.py MODE INTERVAL PERIOD [CHUNK]

For PERIOD seconds, all at once:
  main thread   alternates a() and b(), 50 ms each: busy Python loops
  "busy-c"      c(): a busy Python loop
  "gil-d"       d(): sum(range(CHUNK)) over and over: a C call that holds
                the GIL the whole time (CHUNK defaults to about one GIL
                switch interval's worth)
  "sleeper-e"   e(): time.sleep()

Each function adds up how long it actually ran: wall time (perf_counter) and
this thread's CPU time (thread_time). The sampler runs in MODE ("wall" or
"cpu") every INTERVAL seconds, reset just before the period starts; right
after it ends the program prints one JSON line: the truth per function, the
folded export (and without idle samples), the sampler's status and the
thread idents.
"""
import json
import sys
import threading
import time

import holter

MODE, INTERVAL, PERIOD = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
CHUNK = int(sys.argv[4]) if len(sys.argv) > 4 else 150_000
SLICE = 0.05                    # main: seconds in a() before b() and back

wall = dict.fromkeys("abcde", 0.0)
cpu = dict.fromkeys("abcde", 0.0)
lock = threading.Lock()
ready = threading.Barrier(4)
END = 0.0


def add(name, w0, c0):
    w, c = time.perf_counter() - w0, time.thread_time() - c0
    with lock:
        wall[name] += w
        cpu[name] += c


def a(until):
    w0, c0 = time.perf_counter(), time.thread_time()
    n = 0
    while time.perf_counter() < until:
        n += 1                                  # MARK:a-loop
    add("a", w0, c0)
    return n


def b(until):
    w0, c0 = time.perf_counter(), time.thread_time()
    n = 0
    while time.perf_counter() < until:
        n += 1                                  # MARK:b-loop
    add("b", w0, c0)
    return n


def c():
    w0, c0 = time.perf_counter(), time.thread_time()
    n = 0
    while time.perf_counter() < END:
        n += 1                                  # MARK:c-loop
    add("c", w0, c0)


def d():
    w0, c0 = time.perf_counter(), time.thread_time()
    while time.perf_counter() < END:
        sum(range(CHUNK))                       # MARK:d-sum
    add("d", w0, c0)


def e():
    w0, c0 = time.perf_counter(), time.thread_time()
    while True:
        left = END - time.perf_counter()
        if left <= 0:
            break
        time.sleep(min(left, 0.1))              # MARK:e-sleep
    add("e", w0, c0)


def worker(fn):
    ready.wait()
    fn()


def main():
    global END
    holter.start(interval=INTERVAL, mode=MODE, serve=False)
    threads = [threading.Thread(target=worker, args=(fn,), name=name)
               for fn, name in ((c, "busy-c"), (d, "gil-d"), (e, "sleeper-e"))]
    for t in threads:
        t.start()
    time.sleep(0.2)                             # all parked at the barrier
    holter.export("top", reset=True)            # count from here on
    END = time.perf_counter() + PERIOD
    ready.wait()
    while True:
        now = time.perf_counter()
        if now >= END:
            break
        a(min(now + SLICE, END))
        now = time.perf_counter()
        if now >= END:
            break
        b(min(now + SLICE, END))
    folded = holter.export("folded").decode()
    busy_folded = holter.export("folded", idle=False).decode()
    status = holter._sampling.status()
    for t in threads:
        t.join()
    holter.stop()
    print(json.dumps({
        "wall": wall, "cpu": cpu, "folded": folded, "busy_folded": busy_folded,
        "status": status,
        "idents": {t.name: t.ident for t in threads} | {"MainThread": threading.get_ident()},
    }))


main()
