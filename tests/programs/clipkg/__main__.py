"""Run by test_cli.py as `holter run -m clipkg`."""
import json
import sys

import holter

total = 5 * 2                         # MARK:total
print(json.dumps({"argv": sys.argv, "name": __name__, "counts": holter.counts(__file__)}))
