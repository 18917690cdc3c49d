"""Generators: one created and started before trace() and resumed after it,
`yield from` with send() and a return value, and generators closed early.
HOLTER_TEST=1 starts holter.trace() in the middle of the program."""
import os


def squares(n):
    for i in range(n):
        yield i * i


def suspended_in_loop():
    total = 0
    while True:
        got = yield total
        if got is None:
            return total
        total += got


early = squares(8)
started_early = [next(early), next(early)]
accumulator = suspended_in_loop()
next(accumulator)
accumulator.send(10)

if os.environ.get("HOLTER_TEST"):
    import holter
    holter.trace(port=0, quiet=os.environ["HOLTER_TEST"] == "quiet")

print("early, before trace:", started_early)
print("early, resumed after trace:", list(early))
print("accumulator:", accumulator.send(5), accumulator.send(7))
try:
    accumulator.send(None)
except StopIteration as stop:
    print("accumulator returned:", stop.value)


def averager():
    total = count = 0
    while True:
        value = yield
        if value is None:
            return total / count
        total += value
        count += 1


def delegate(results):
    while True:
        result = yield from averager()
        results.append(result)


results = []
d = delegate(results)
next(d)
for batch in ([1, 2, 3], [10, 20], [7]):
    for v in batch:
        d.send(v)
    d.send(None)
print("yield from averages:", results)


def chain(*iterables):
    for it in iterables:
        yield from it


print("chain:", list(chain(squares(3), "ab", (x for x in range(3)))))

log = []


def closable():
    try:
        for i in range(1000):
            yield i
    except GeneratorExit:
        log.append("GeneratorExit")
        raise
    finally:
        log.append("finally")


g = closable()
print("took:", [next(g) for _ in range(3)])
g.close()
print("closed early:", log, "state after close:", list(g))

g = closable()
next(g)
try:
    g.throw(ValueError("thrown in"))
except ValueError as e:
    print("throw came back:", e, log)


def stops_at(limit):
    for i in squares(100):
        if i > limit:
            return
        yield i


print("broken out of:", [x for x in stops_at(50)])
for x in closable():
    if x == 2:
        break
del x
print("break in for:", log)
