"""Leaves a line in the stdout buffer, writes "ready" straight to fd 1, then
sleeps in a loop until the test sends SIGINT.

  uncaught  the KeyboardInterrupt is not caught: Python prints it and dies of
            SIGINT, after running atexit handlers and flushing stdout
  caught    it is caught: prints "caught" and exits with 0

HOLTER_TEST=1 traces it with holter.trace()."""
import os

if os.environ.get("HOLTER_TEST"):
    import holter
    holter.trace(port=0, quiet=os.environ["HOLTER_TEST"] == "quiet")

import atexit
import sys
import time

atexit.register(lambda: print("atexit handler ran"))


def nap():
    time.sleep(0.05)


def wait_forever():
    os.write(1, b"ready\n")     # the test's cue; the SIGINT may come at once
    while True:
        nap()


print("still in the stdout buffer")     # not flushed: Python flushes it at exit
if sys.argv[1] == "caught":
    try:
        wait_forever()
    except KeyboardInterrupt:
        print("caught")
    sys.exit(0)
try:
    wait_forever()
finally:
    print("finally block ran")
