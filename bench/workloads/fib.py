"""fib: naive recursive Fibonacci. Call-heavy: two lines and one call per
frame, so the cost of call/return events dominates.

run(n) computes fib(n); the hot line runs once per call, 2 * F(n + 1) - 1
times.
"""


def fib(n):
    if n < 2:  # hot
        return n
    return fib(n - 1) + fib(n - 2)


def run(n):
    return fib(n)


def expected_hot(n):
    a, b = 0, 1            # F(0), F(1)
    for _ in range(n + 1):
        a, b = b, a + b    # a = F(n + 1) after the loop
    return 2 * a - 1
