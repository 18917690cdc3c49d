"""Ends while daemon threads still run: one busy in a Python loop, one
blocked on a lock. With "bare" as argv[1] it starts no thread and just ends.
HOLTER_TEST=1 traces it with holter.trace()."""
import os

if os.environ.get("HOLTER_TEST"):
    import holter
    holter.trace(port=0, quiet=os.environ["HOLTER_TEST"] == "quiet")

import sys
import threading


def spin(started):
    started.set()
    n = 0
    while True:
        n = (n * 31 + 7) % 1000003


def block(started, never):
    started.set()
    never.acquire()


if sys.argv[1:] != ["bare"]:
    never = threading.Lock()
    never.acquire()
    started = [threading.Event(), threading.Event()]
    threading.Thread(target=spin, args=(started[0],), daemon=True).start()
    threading.Thread(target=block, args=(started[1], never), daemon=True).start()
    for e in started:
        e.wait()
    print("daemon threads running:", threading.active_count() - 1)
print("main thread done")
