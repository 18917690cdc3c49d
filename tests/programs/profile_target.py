"""Target program for tests/test_browser_profile.py: a real sampled program.

Starts holter's stack sampler (no line tracing), prints the URL of its page
on stdout, then for DURATION seconds (first argument, default 30) the main
thread spins on the CPU in burn() while a thread named "sleeper" sleeps in
nap(), 50 ms at a time. The test reads the flame graph the page draws: it
expects a node named "burn" on the main thread and "nap" on the sleeper.
"""
import sys
import threading
import time

import holter

s = holter.start(interval=0.005, mode="wall", port=0, quiet=True)
print(s.url, flush=True)

DURATION = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0


def burn(deadline):
    """Main thread: pure CPU, no calls below it (it is the leaf)."""
    x = 0
    while time.monotonic() < deadline:
        for i in range(2000):
            x += i * i
    return x


def nap(deadline):
    """Runs in the thread named "sleeper": idle nearly all the time."""
    while time.monotonic() < deadline:
        time.sleep(0.05)


def main():
    deadline = time.monotonic() + DURATION
    sleeper = threading.Thread(target=nap, args=(deadline,), name="sleeper", daemon=True)
    sleeper.start()
    burn(deadline)
    sleeper.join()


if __name__ == "__main__":
    main()
