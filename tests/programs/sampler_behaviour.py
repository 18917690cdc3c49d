"""A program whose output and end must not change when it is sampled.

    python sampler_behaviour.py exit CODE     busy threads, output, exit CODE
    python sampler_behaviour.py raise         an uncaught exception (exit 1)
    python sampler_behaviour.py sigint        busy until SIGINT, not caught

With SAMPLE=wall or SAMPLE=cpu in its environment it samples itself with
holter.start(interval=0.001, serve=False); under `holter run --sample` it
is sampled from outside. "sigint" writes "ready" straight to fd 1 when the
signal may come.
"""
import atexit
import hashlib
import os
import sys
import threading
import time

if os.environ.get("SAMPLE"):
    import holter
    holter.start(interval=0.001, mode=os.environ["SAMPLE"], serve=False)

atexit.register(lambda: print("atexit handler ran"))


def work(i, out):
    h = hashlib.sha256()
    for k in range(20000):
        h.update(str(k * i).encode())
    out[i] = h.hexdigest()[:12]


def crunch():
    total = 0
    for i in range(300000):
        total += i * i % 7
    return total


def deep(n):
    return n if n == 0 else deep(n - 1) + 1


def main():
    how = sys.argv[1]
    out = {}
    threads = [threading.Thread(target=work, args=(i, out), name=f"w{i}") for i in range(6)]
    for t in threads:
        t.start()
    print("crunch:", crunch())
    for t in threads:
        t.join()
    for i in sorted(out):
        print(f"worker {i}: {out[i]}")
    print("deep:", deep(500))
    print("unflushed line")            # left in the buffer: Python flushes it at exit
    sys.stderr.write("to stderr\n")
    if how == "exit":
        sys.exit(int(sys.argv[2]))
    if how == "raise":
        def inner():
            raise ValueError("from inner")
        inner()
    if how == "sigint":
        try:
            os.write(1, b"ready\n")
            while True:
                crunch()
                time.sleep(0.01)
        finally:
            print("finally block ran")


main()
