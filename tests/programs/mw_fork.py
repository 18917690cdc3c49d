"""Forked workers and the middleware. Prints one JSON line per process.

    mw_fork.py os     os.fork(); the child stops its sampler (as if holter's
                      own restart at fork had not run) before its first
                      request; the parent then stops its own: respected.
    mw_fork.py libc   the C library's fork(), as uWSGI forks its workers:
                      no Python at-fork hook runs in the child.
"""
import ctypes
import json
import os
import sys

from werkzeug.test import Client

import holter
import mw_flask

TOKEN = {"PROFILER-TOKEN": "s3cret"}

client = Client(mw_flask.create_app(secret="s3cret", interval=0.01))
how = sys.argv[1]
pid = os.fork() if how == "os" else ctypes.CDLL(None).fork()
if pid == 0:
    try:
        if how == "os":
            holter.stop()
        before = holter.sampling()
        client.get("/busy?s=0.3")
        resp = client.get("/liveprofiler", headers=TOKEN)
        print(json.dumps({"who": "child", "sampling_before": before, "sampling": holter.sampling(),
                          "status": resp.status_code, "body": resp.get_data(as_text=True)}),
              flush=True)
    finally:
        os._exit(0)
os.waitpid(pid, 0)
holter.stop()
client.get("/")
print(json.dumps({"who": "parent", "sampling": holter.sampling()}), flush=True)
