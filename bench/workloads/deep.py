"""deep: work at the bottom of a deep stack. A recursive descent of DEPTH
frames (alternating between two functions, as a parser or a visitor would)
does a small loop at each leaf, so every sample of this thread is a stack
DEPTH frames deep: the case that costs a stack sampler most per sample.

DEPTH stays well inside CPython's first 16 KiB data-stack chunk on
3.11-3.13. Past about 120 frames (with bench/sampler_child.py's own frames
below) each descent crosses into a second chunk, which CPython maps and
unmaps every time: an mmap/munmap pair per leaf, which contends with any
reader of the process's memory (process_vm_readv takes the mmap lock) and
makes it a different benchmark.

run(n) visits n leaves; the hot line runs once per leaf, n times.
"""
DEPTH = 100


def descend(depth, seed):
    if depth == 0:
        return leaf(seed)
    return through(depth - 1, seed + depth)


def through(depth, seed):
    if depth == 0:
        return leaf(seed)
    return descend(depth - 1, seed ^ depth)


def leaf(seed):
    acc = seed  # hot
    for i in range(200):
        acc = (acc * 31 + i) & 0xFFFF
    return acc


def run(n):
    total = 0
    for i in range(n):
        total += descend(DEPTH, i)
    return total


def expected_hot(n):
    return n
