"""holter's demo: a small multi-threaded program to watch.

    holter run examples/demo.py          (or: python examples/demo.py)

Three threads do different kinds of work forever (until Ctrl-C, or for
--seconds): a prime sieve, a JSON round-trip, and a producer/consumer pair
talking through a queue.
"""
import argparse
import json
import queue
import random
import threading
import time


def primes_below(n):
    sieve = bytearray([1]) * n
    sieve[0:2] = b"\0\0"
    for i in range(2, int(n ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytearray(len(sieve[i * i::i]))
    return [i for i, flag in enumerate(sieve) if flag]


def crunch(stop):
    while not stop.is_set():
        found = primes_below(random.randint(20_000, 60_000))
        time.sleep(0.05 + len(found) * 1e-7)


def round_trip(stop):
    doc = {"users": [{"id": i, "tags": ["a", "b", str(i)]} for i in range(200)]}
    while not stop.is_set():
        text = json.dumps(doc)
        doc = json.loads(text)
        time.sleep(0.02)


def produce(q, stop):
    n = 0
    while not stop.is_set():
        q.put(n)
        n += 1
        time.sleep(random.random() / 50)
    q.put(None)


def consume(q):
    total = 0
    while (item := q.get()) is not None:
        total += item
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    args = parser.parse_args()
    stop = threading.Event()
    q = queue.Queue()
    threads = [
        threading.Thread(target=crunch, args=(stop,), name="crunch"),
        threading.Thread(target=round_trip, args=(stop,), name="round-trip"),
        threading.Thread(target=produce, args=(q, stop), name="producer"),
        threading.Thread(target=consume, args=(q,), name="consumer"),
    ]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + args.seconds if args.seconds else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("stopping")
    finally:
        stop.set()
        for t in threads:
            t.join()


if __name__ == "__main__":
    main()
