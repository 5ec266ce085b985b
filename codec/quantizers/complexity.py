"""Operation counts with the ITU-T STL 2009 weights (add = mult = move = 1, branch = 4).

Each quantizer's ``complexity()`` builds its count from these pieces, so every
stage of a search is visible in one place and counted once.
"""

from __future__ import annotations

from dataclasses import dataclass

BRANCH_WEIGHT = 4


@dataclass(frozen=True)
class OpCount:
    """Basic operations needed to encode one vector."""

    add: int = 0
    mult: int = 0
    move: int = 0
    branch: int = 0

    @property
    def weighted(self) -> int:
        """Weighted operations per vector (STL 2009 weights)."""
        return self.add + self.mult + self.move + BRANCH_WEIGHT * self.branch

    def wmops(self, vectors_per_second: float = 50.0) -> float:
        """Weighted million operations per second at a given vector rate (50 = one per 20 ms frame)."""
        return self.weighted * vectors_per_second / 1e6

    def __add__(self, other: "OpCount") -> "OpCount":
        return OpCount(self.add + other.add, self.mult + other.mult,
                       self.move + other.move, self.branch + other.branch)

    def __mul__(self, times: int) -> "OpCount":
        return OpCount(self.add * times, self.mult * times, self.move * times, self.branch * times)

    __rmul__ = __mul__


def distance(n: int, d: int) -> OpCount:
    """Squared distances from one vector to n codewords of dimension d.

    d subtractions, d multiplications and d - 1 additions per codeword.
    """
    return OpCount(add=n * (2 * d - 1), mult=n * d)


def argmin(n: int) -> OpCount:
    """Smallest of n values: n - 1 comparisons, n - 1 moves of the running best."""
    return OpCount(add=max(n - 1, 0), move=max(n - 1, 0))


def smallest(n: int, k: int) -> OpCount:
    """The k smallest of n values, by k successive arg-min passes."""
    return sum((argmin(n - i) for i in range(min(k, n))), OpCount())


def vector_update(d: int) -> OpCount:
    """Subtract a chosen codeword from a residual (d adds) after fetching it (d moves)."""
    return OpCount(add=d, move=d)
