"""Exact-count target: threads and calls with known iteration counts.

COUNT_MODE=holter  trace with holter (a thread started before trace() too)
COUNT_MODE=oracle  count with CPython's own line events from Python code
COUNT_PRE=0        no thread started before tracing

Prints one JSON line {"counts": {line: hits}, "url": ...} and, with holter,
waits for a line on stdin before exiting, so a test can read the server.
"""
import json
import os
import sys
import threading

MODE = os.environ.get("COUNT_MODE", "holter")
PRE = os.environ.get("COUNT_PRE", "1") == "1"


def spin(n):
    total = 0
    for i in range(n):
        total += i            # MARK:body
    return total


def deep(k):
    if k == 0:                # MARK:deep_if
        return 0
    return 1 + deep(k - 1)    # MARK:deep_rec


def gen(n):
    for i in range(n):
        yield i * 2           # MARK:yield


def pre_worker(go):
    go.wait()
    spin(777)                 # MARK:pre_call


def oracle_counts():
    """Counts line events of this file the way the interpreter reports them."""
    from collections import Counter
    counts = Counter()
    me = __file__
    if sys.version_info >= (3, 12):
        mon = sys.monitoring
        mon.use_tool_id(1, "oracle")

        def on_line(code, line):
            if code.co_filename != me:
                return mon.DISABLE
            counts[line] += 1
        mon.register_callback(1, mon.events.LINE, on_line)
        mon.set_events(1, mon.events.LINE)
    else:
        def local(frame, event, arg):
            if event == "line":
                counts[frame.f_lineno] += 1
            return local

        def glob(frame, event, arg):
            return local if frame.f_code.co_filename == me else None
        sys.settrace(glob)
        threading.settrace(glob)
    return counts


def main():
    go = threading.Event()
    pre = threading.Thread(target=pre_worker, args=(go,), name="pre") if PRE else None
    if pre:
        pre.start()
    url = None
    if MODE == "holter":
        import holter
        url = holter.trace(port=0, quiet=True).url
        counts = None
    else:
        counts = oracle_counts()
    go.set()
    threads = [threading.Thread(target=spin, args=(1000 * (i + 1),), name=f"spin-{i}")
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if pre:
        pre.join()
    assert sum(gen(50)) == 2450
    assert deep(100) == 100
    if MODE == "holter":
        import holter
        counts = holter.counts(__file__)   # MARK:snapshot
    print(json.dumps({"counts": counts, "url": url}), flush=True)
    if MODE == "holter":
        sys.stdin.readline()


main()
