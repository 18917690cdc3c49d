"""A profile to export, served, then frozen.

    python sampler_export.py OUTDIR

Samples itself (wall mode, every 2 ms) for about 1.5 s: the main thread in
outer() -> middle() -> leaf_busy(), then in größe() (a non-ASCII name) and
a nested function; a thread "export-worker" in worker_loop() ->
sampler_exportlib.helper_spin(); a thread "export-sleeper" asleep in nap().
Then it stops sampling (the profile stays, and the server with it), writes
every export format to OUTDIR/<format> (as holter.export() gives it) and
prints one JSON line: the URL, the thread idents, the interval. It ends
when a line comes on stdin.
"""
import json
import os
import sys
import threading
import time

import holter
from holter import _server

import sampler_exportlib

INTERVAL = 0.002


def leaf_busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:            # MARK:leaf-loop
        pass


def middle(seconds):
    leaf_busy(seconds)


def outer(seconds):
    middle(seconds)


def größe(seconds):
    def nested_helper():
        leaf_busy(seconds / 2)
    nested_helper()
    leaf_busy(seconds / 2)


def worker_loop(stop):
    while not stop.is_set():
        sampler_exportlib.helper_spin(0.01)


def nap(stop):
    stop.wait()


def main():
    outdir = sys.argv[1]
    # The server is held apart from the sampler, so that it outlives it.
    ep = _server.acquire("127.0.0.1", 0, None)
    holter.start(interval=INTERVAL, mode="wall", serve=False)
    stop = threading.Event()
    worker = threading.Thread(target=worker_loop, args=(stop,), name="export-worker")
    sleeper = threading.Thread(target=nap, args=(stop,), name="export-sleeper")
    worker.start()
    sleeper.start()
    outer(1.0)
    größe(0.5)
    holter.export("threads")                    # tells holter the threads' names
    stop.set()
    worker.join()
    sleeper.join()
    holter.stop()
    for fmt in holter._sampling.FORMATS:
        with open(os.path.join(outdir, fmt), "wb") as f:
            f.write(holter.export(fmt))
    print(json.dumps({
        "url": ep.url, "interval": INTERVAL, "main": threading.get_ident(),
        "worker": worker.ident, "sleeper": sleeper.ident,
        "status": holter._sampling.status(),
    }), flush=True)
    sys.stdin.readline()
    _server.release()


main()
