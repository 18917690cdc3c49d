"""Starts and joins 200 threads, each doing a little work, then prints a
deterministic summary. HOLTER_TEST=1 traces it with holter.trace()."""
import os

if os.environ.get("HOLTER_TEST"):
    import holter
    holter.trace(port=0, quiet=os.environ["HOLTER_TEST"] == "quiet")

import hashlib
import threading

N_THREADS = 200
results = []
lock = threading.Lock()


def collatz_steps(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def work(i):
    total = sum(collatz_steps(k) for k in range(1, 50 + i))
    digest = hashlib.sha256(str(total).encode()).hexdigest()[:8]
    with lock:
        results.append((i, total, digest))


threads = [threading.Thread(target=work, args=(i,), name=f"worker-{i}") for i in range(N_THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()

results.sort()
print("threads:", len(results))
print("grand total:", sum(r[1] for r in results))
print("first:", results[0])
print("last:", results[-1])
print("digest:", hashlib.sha256(repr(results).encode()).hexdigest())
print("alive after join:", threading.active_count())
