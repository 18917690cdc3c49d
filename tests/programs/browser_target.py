"""Target program for tests/test_browser.py: a real traced program, two threads.

Prints the URL of holter's page on stdout, then for DURATION seconds (first
argument, default 30) the main thread loops in main_loop() and a thread
named "worker" loops in worker_loop(), each sleeping 10 ms per turn.

The test finds lines by their MARK comments, never by number, so this file
can be edited freely. The worker's sleep line holds non-ASCII text before
the call: the page must turn the UTF-8 byte columns of the frame's `pos`
into string indices to highlight exactly `time.sleep(0.01)` there.
"""
import sys
import threading
import time

import holter

h = holter.trace(port=0, quiet=True)
print(h.url, flush=True)

DURATION = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0


def worker_loop(deadline):
    """Runs in the thread named "worker"."""
    n = 0
    while time.monotonic() < deadline:  # MARK: worker-while
        n += 1  # MARK: worker-body
        label = "wörker ✓ 日本"; time.sleep(0.01)  # MARK: worker-sleep
    return n


def main_loop(deadline):
    """Runs in the main thread."""
    counter = 0
    while time.monotonic() < deadline:
        counter += 1  # MARK: main-body
        time.sleep(0.01)
    return counter


def main():
    deadline = time.monotonic() + DURATION
    worker = threading.Thread(target=worker_loop, args=(deadline,), name="worker", daemon=True)
    worker.start()
    main_loop(deadline)
    worker.join()


if __name__ == "__main__":
    main()
