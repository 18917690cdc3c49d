"""threads: four threads running the same pure-Python loop at once, to
measure a hook that covers every thread (heartrate traces only the thread
that called it, so for heartrate this measures almost nothing).

run(n) runs n iterations on each of 4 threads; the hot line runs 4 * n
times, counted exactly across threads.
"""
import threading

THREADS = 4


def work(n, results, slot):
    acc = 0
    seen = {}
    for i in range(n):
        acc = (acc * 31 + i) % 1000003  # hot
        key = acc & 255
        seen[key] = seen.get(key, 0) + 1
    results[slot] = (acc, len(seen))


def run(n):
    results = [None] * THREADS
    threads = [threading.Thread(target=work, args=(n, results, k)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def expected_hot(n):
    return THREADS * n
