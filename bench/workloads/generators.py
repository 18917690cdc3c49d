"""generators: a lazy pipeline of generators. Numbers flow from a source
through map, filter, a sliding window (yield from) and a running fold, each
stage a generator frame suspended and resumed per item, so a sampled stack
holds several generator frames.

run(n) pulls n items from the source; the hot line runs once per item, n
times.
"""


def source(n):
    x = 1
    for i in range(n):
        x = (x * 48271) % 2147483647  # hot
        yield x


def scaled(items):
    for x in items:
        yield (x % 1000) * 3 + 1


def odd_only(items):
    return (x for x in items if x & 1)


def windows(items, size):
    buf = []
    for x in items:
        buf.append(x)
        if len(buf) == size:
            yield from pairs(buf)
            buf = []


def pairs(buf):
    for i in range(len(buf) - 1):
        yield buf[i], buf[i + 1]


def running_max(pairs_):
    best = 0
    for a, b in pairs_:
        d = a - b if a > b else b - a
        if d > best:
            best = d
        yield best


def run(n):
    total = 0
    count = 0
    for best in running_max(windows(odd_only(scaled(source(n))), 8)):
        total += best
        count += 1
    return total, count


def expected_hot(n):
    return n
