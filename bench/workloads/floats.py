"""floats: many small objects doing float math. Builds n points with
__slots__ from sin/cos, normalizes them and folds them with an element-wise
maximum. Allocation-heavy: each point is a new object, each fold a method
call.

run(n) makes n points; the hot line runs once per point, n times.
"""
from math import cos, sin, sqrt


class Point:
    __slots__ = ("x", "y", "z")

    def __init__(self, i):
        self.x = x = sin(i)  # hot
        self.y = cos(i) * 3.0
        self.z = x * x / 2.0

    def normalize(self):
        norm = sqrt(self.x * self.x + self.y * self.y + self.z * self.z)
        self.x /= norm
        self.y /= norm
        self.z /= norm

    def maximize(self, other):
        self.x = self.x if self.x > other.x else other.x
        self.y = self.y if self.y > other.y else other.y
        self.z = self.z if self.z > other.z else other.z
        return self


def run(n):
    points = [Point(i) for i in range(n)]
    for p in points:
        p.normalize()
    best = points[0]
    for p in points[1:]:
        best = best.maximize(p)
    return best.x, best.y, best.z


def expected_hot(n):
    return n
