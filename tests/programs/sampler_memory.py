"""Many samples of a few stacks: the sampler's memory must not grow with
the number of samples.

    python sampler_memory.py SECONDS

100 threads wait in one of three functions and two threads alternate
between three busy ones, sampled every 0.1 ms (wall mode: every thread,
every round). After 1 s (warm: every stack seen) and at the end the program
notes the sampler's status and its own resident memory, then prints one
JSON line.
"""
import json
import sys
import threading
import time

import holter
from holter import _sampling

SECONDS = float(sys.argv[1])
stop = threading.Event()


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def wait_one():
    stop.wait()


def wait_two():
    stop.wait()


def wait_three():
    stop.wait()


def busy_one():
    sum(range(2000))


def busy_two():
    sorted(range(2000), key=lambda x: -x)


def busy_three():
    "-".join(map(str, range(500)))


def churn_stacks():
    while not stop.is_set():
        busy_one()
        busy_two()
        busy_three()


def main():
    waiters = [threading.Thread(target=(wait_one, wait_two, wait_three)[i % 3], daemon=True)
               for i in range(100)]
    busy = [threading.Thread(target=churn_stacks, daemon=True) for _ in range(2)]
    for t in waiters + busy:
        t.start()
    holter.start(interval=0.0001, mode="wall", serve=False)
    time.sleep(1.0)
    warm = _sampling.status() | {"rss": rss_bytes()}
    time.sleep(SECONDS - 1.0)
    end = _sampling.status() | {"rss": rss_bytes()}
    stop.set()
    for t in waiters + busy:
        t.join()
    holter.stop()
    print(json.dumps({"warm": warm, "end": end}))


main()
