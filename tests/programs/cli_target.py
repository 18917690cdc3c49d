"""Run by test_cli.py through `holter run`."""
import json
import os
import sys

import holter


def body(n):
    acc = 0
    for i in range(n):
        acc += i              # MARK:loop
    return acc


body(10)
print(json.dumps({
    "argv": sys.argv,
    "name": __name__,
    "path0": sys.path[0],
    "counts": holter.counts(os.path.abspath(__file__)),
    "status": {k: holter.status()[k] for k in ("tracing", "serving")},
}))
if len(sys.argv) > 1 and sys.argv[1] == "fail":
    raise ValueError("failing on purpose")
if len(sys.argv) > 1 and sys.argv[1].isdigit():
    sys.exit(int(sys.argv[1]))
