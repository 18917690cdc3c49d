"""Writes to stdout and stderr in an interleaved order, some writes flushed
and some left in the buffer, so a merged capture shows the exact ordering.
HOLTER_TEST=1 traces it with holter.trace()."""
import os

if os.environ.get("HOLTER_TEST"):
    import holter
    holter.trace(port=0, quiet=os.environ["HOLTER_TEST"] == "quiet")

import sys

for i in range(5):
    print("out", i, flush=True)
    print("err", i, file=sys.stderr, flush=True)
print("buffered out")
sys.stdout.write("no newline; ")
print("err after buffered out", file=sys.stderr)
sys.stdout.flush()
os.write(1, b"raw fd 1\n")
os.write(2, b"raw fd 2\n")
sys.stdout.buffer.write(bytes(range(256)))
print()
print("last line on stdout")
