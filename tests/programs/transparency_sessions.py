"""holter.trace() as a context manager, then stop() and trace() again, in
one program: each session counts, serves its page, and stops cleanly.
Prints what it saw; the test checks it."""
import urllib.request

import holter


def work(n):
    total = 0
    for i in range(n):
        total += i
    return total


BODY = work.__code__.co_firstlineno + 3         # the line "total += i"


def hits():
    return holter.counts(__file__).get(BODY, 0)


def page_status(t):
    with urllib.request.urlopen(t.url, timeout=10) as r:
        return r.status


with holter.trace(port=0, quiet=True) as t:
    print("1 current is t:", holter.current() is t)
    print("1 page:", page_status(t))
    work(10)
    print("1 hits:", hits())
print("1 current after with:", holter.current())
holter.stop()                                   # nothing running: a no-op

work(1000)                                      # not traced
print("between hits:", hits())

t = holter.trace(port=0, quiet=True)
print("2 page:", page_status(t))
work(7)
print("2 hits:", hits())
try:
    holter.trace(port=0, quiet=True)
except RuntimeError:
    print("2 second trace() refused")
holter.stop()
holter.stop()

with holter.trace(port=0, quiet=True) as t:
    print("3 page:", page_status(t))
    work(3)
    print("3 hits:", hits())
print("3 status tracing:", holter.status()["tracing"], "hook_errors:", holter.status()["hook_errors"])
print("work still right:", work(10))
