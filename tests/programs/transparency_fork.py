"""os.fork() under holter. argv[1] picks the scenario:

  exit7     the child works and leaves with os._exit(7)
  sysexit3  the child leaves with sys.exit(3); its atexit handler runs
  threads   four threads are busy running Python code when the main thread
            forks; the child leaves with sys.exit(4)

The parent waits for the child and prints its exit status.
HOLTER_TEST=1 traces it with holter.trace()."""
import os

if os.environ.get("HOLTER_TEST"):
    import holter
    holter.trace(port=0, quiet=os.environ["HOLTER_TEST"] == "quiet")

import atexit
import sys
import threading
import time


def work(n):
    return sum(i * i for i in range(n))


def child_atexit():
    print("child atexit ran, pid is the child's:", os.getpid() != parent_pid, flush=True)


def busy(started, stop, results, i):
    total = 0
    while not stop.is_set():
        total += work(100)
        started.set()
        time.sleep(0)           # lets the main thread have the GIL soon (3.13)
    results[i] = total > 0


scenario = sys.argv[1]
parent_pid = os.getpid()
print("parent before fork:", work(1000))

stop = threading.Event()
threads, results = [], {}
if scenario == "threads":
    started = [threading.Event() for _ in range(4)]
    threads = [threading.Thread(target=busy, args=(started[i], stop, results, i)) for i in range(4)]
    for t in threads:
        t.start()
    for e in started:
        e.wait()

sys.stdout.flush()              # or the child would print the parent's buffer again
pid = os.fork()
if pid == 0:
    print("child work:", work(2000))
    if scenario == "exit7":
        sys.stdout.flush()
        os._exit(7)
    atexit.register(child_atexit)
    sys.exit(3 if scenario == "sysexit3" else 4)

stop.set()                      # before waiting: busy threads slow a GIL handover
for t in threads:
    t.join()
_, status = os.waitpid(pid, 0)
print("threads all ran:", sorted(results.items()))
print("child exit code:", os.waitstatus_to_exitcode(status))
print("parent after fork:", work(500))
