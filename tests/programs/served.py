"""A program to point HTTP clients at: a named worker thread parked in a
traced function, a latin-1 module traced through its `# holter` comment.

Env: SERVE_HOST, SERVE_TOKEN, SERVE_PORT. Prints one JSON line, then reads
commands on stdin: "shout" calls latin1_mod.shout() twice and prints "done";
anything else ends the program.
"""
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import holter  # noqa: E402

import latin1_mod  # noqa: E402

parked = threading.Event()
release = threading.Event()


def park():
    parked.set()
    release.wait()            # MARK:park


def main():
    t = holter.trace(host=os.environ.get("SERVE_HOST", "127.0.0.1"),
                     port=int(os.environ.get("SERVE_PORT", "0")),
                     token=os.environ.get("SERVE_TOKEN") or None, quiet=True)
    worker = threading.Thread(target=park, name="parked-worker")
    worker.start()
    parked.wait()
    for _ in range(3):
        latin1_mod.shout(latin1_mod.GREETING)
    print(json.dumps({"url": t.url, "token": t.token, "port": t.port}), flush=True)
    while sys.stdin.readline().strip() == "shout":
        latin1_mod.shout("a")
        latin1_mod.shout("b")
        print("done", flush=True)
    release.set()
    worker.join()


main()
