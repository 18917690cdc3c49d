"""spectral_norm: the largest singular value of the infinite matrix
A(i, j) = 1 / ((i + j)(i + j + 1) / 2 + i + 1), by power iteration
(pyperformance's bm_spectral_norm with A inlined). Loop-heavy: a doubly
nested loop of two arithmetic lines.

run(n) uses an n x n section and 10 iterations; the hot line runs 20 * n * n
times (A.u is computed twice per iteration).
"""


def a_times_u(u, out):
    n = len(u)
    for i in range(n):
        s = 0.0
        for j in range(n):
            ij = i + j  # hot
            s += u[j] / (ij * (ij + 1) // 2 + i + 1)
        out[i] = s


def at_times_u(u, out):
    n = len(u)
    for i in range(n):
        s = 0.0
        for j in range(n):
            ij = i + j
            s += u[j] / (ij * (ij + 1) // 2 + j + 1)
        out[i] = s


def ata_times_u(u, out, tmp):
    a_times_u(u, tmp)
    at_times_u(tmp, out)


def run(n):
    u = [1.0] * n
    v = [0.0] * n
    tmp = [0.0] * n
    for _ in range(10):
        ata_times_u(u, v, tmp)
        ata_times_u(v, u, tmp)
    vbv = vv = 0.0
    for ue, ve in zip(u, v):
        vbv += ue * ve
        vv += ve * ve
    return (vbv / vv) ** 0.5


def expected_hot(n):
    return 20 * n * n
