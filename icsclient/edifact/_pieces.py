"""Locating positions of a joined text in the pieces it was joined from."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from itertools import accumulate


def pieces_at(pieces: Sequence[str], positions: Iterable[int]) -> set[int]:
    """Indexes of the ``pieces`` that ``positions`` fall in, the pieces joined by (or
    split at) a one-character separator.  A position on a separator counts for the piece
    before it; one past the last piece gives ``len(pieces)``."""
    # piece i spans [start_i, end_i), end_i being the index of the separator after it
    ends = [total + i for i, total in enumerate(accumulate(map(len, pieces)))]
    return {bisect_left(ends, k) for k in positions}
