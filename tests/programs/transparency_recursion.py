"""Recursion near the default limit: 900 frames deep, then past the limit
with the RecursionError caught. HOLTER_TEST=1 traces it with holter.trace()."""
import os

if os.environ.get("HOLTER_TEST"):
    import holter
    holter.trace(port=0, quiet=os.environ["HOLTER_TEST"] == "quiet")

import sys


def depth(n):
    if n == 0:
        return 0
    return 1 + depth(n - 1)


deepest = 0


def dive(n):
    global deepest
    deepest = n
    return dive(n + 1) + 1


print("recursion limit:", sys.getrecursionlimit())
print("depth(900) =", depth(900))
try:
    dive(1)
except RecursionError as e:
    print("caught RecursionError:", e)
print("still works after:", depth(100))
if "--deepest" in sys.argv:
    print("deepest frame reached:", deepest)
