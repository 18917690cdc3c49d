"""Threads started before holter.trace() keep running and are counted:

- `stepper` waits on a semaphore and calls step() once per round, so the
  rounds after trace() give an exact count;
  The stepper's own loop, in a frame that was running before trace(), is
  counted too;
- `spinner` is busy calling spin_step() the whole time trace() installs.

Prints what it saw; the test checks it."""
import threading

import holter


def step(i):
    return i * 2                                # MARK:step


def spin_step(n):
    return (n * 31 + 7) % 1000003               # MARK:spin


def line_of(mark):
    with open(__file__) as f:
        return next(n for n, text in enumerate(f, 1) if text.rstrip().endswith("# MARK:" + mark))


STEP_LINE, SPIN_LINE, LOOP_LINE = line_of("step"), line_of("spin"), line_of("loop")

go = threading.Semaphore(0)
done = threading.Semaphore(0)
finished = False
stepped = []


def stepper():
    i = 0
    while True:
        go.acquire()
        if finished:
            return
        stepped.append(step(i))                 # MARK:loop
        i += 1
        done.release()


traced = threading.Event()
enough = threading.Event()
stop = threading.Event()


def spinner():
    n = after = 0
    while not stop.is_set():
        n = spin_step(n)
        if traced.is_set():
            after += 1
            if after == 1000:
                enough.set()


def rounds(k):
    for _ in range(k):
        go.release()
        done.acquire()


threads = [threading.Thread(target=stepper), threading.Thread(target=spinner)]
for t in threads:
    t.start()
rounds(5)

holter.trace(port=0, quiet=True)
print("before: step hits", holter.counts(__file__).get(STEP_LINE, 0))
rounds(20)
print("after 20 rounds: step hits", holter.counts(__file__).get(STEP_LINE, 0))
rounds(30)
print("after 50 rounds: step hits", holter.counts(__file__).get(STEP_LINE, 0))

traced.set()
print("spinner ran 1000 times after trace():", enough.wait(20))
spin_hits = holter.counts(__file__).get(SPIN_LINE, 0)
print("spin hits >= 1000:", spin_hits >= 1000)

finished = True
stop.set()
go.release()
for t in threads:
    t.join()
print("stepper loop hits:", holter.counts(__file__).get(LOOP_LINE, 0))
print("stepped:", len(stepped), sum(stepped))
print("hook_errors:", holter.status()["hook_errors"])
