"""Locating positions of a joined text in the pieces it was joined from."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from itertools import accumulate, repeat
from operator import add


def pieces_at(pieces: Sequence[str], positions: Iterable[int]) -> set[int]:
    """Indexes of the ``pieces`` that ``positions`` fall in, the pieces joined by (or
    split at) a one-character separator.  A position on a separator counts for the piece
    before it; one past the last piece gives ``len(pieces)``."""
    # piece i spans [start_i, end_i), end_i being the index of the separator after it;
    # after_i = end_i + 1, summed in C (a block of a few thousand pieces, looked up rarely)
    after = list(accumulate(map(add, map(len, pieces), repeat(1))))
    return {bisect_left(after, k + 1) for k in positions}
