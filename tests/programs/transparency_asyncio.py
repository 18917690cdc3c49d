"""asyncio: gather with sleeps, a timeout and a cancelled task, with
deterministic output. HOLTER_TEST=1 traces it with holter.trace()."""
import os

if os.environ.get("HOLTER_TEST"):
    import holter
    holter.trace(port=0, quiet=os.environ["HOLTER_TEST"] == "quiet")

import asyncio

order = []


async def worker(name, delay, steps):
    total = 0
    for i in range(steps):
        await asyncio.sleep(delay)
        total += i
    order.append(name)
    return name, total


async def ticks(n):
    for i in range(n):
        yield i
        await asyncio.sleep(0)


async def forever(started):
    started.set()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        order.append("forever cancelled")
        raise


async def main():
    results = await asyncio.gather(
        worker("slow", 0.04, 3), worker("fast", 0, 3), worker("mid", 0.01, 3))
    print("gather results:", results)
    print("finish order:", order)

    try:
        await asyncio.wait_for(asyncio.sleep(3600), timeout=0.02)
    except asyncio.TimeoutError:
        print("timed out")

    started = asyncio.Event()
    task = asyncio.create_task(forever(started))
    await started.wait()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        print("cancelled:", task.cancelled(), order[-1])

    print("async gen:", [i async for i in ticks(5)])
    outcomes = await asyncio.gather(worker("ok", 0, 1), asyncio.sleep(0, result="slept"),
                                    return_exceptions=True)
    print("outcomes:", outcomes)
    return "done"


print("main:", asyncio.run(main()))
