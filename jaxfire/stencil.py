"""Neighbourhood stencils of the spread automaton and the cells each straight step passes through.

Conventions: a move ``(dr, dc)`` goes from a source cell to the cell ``dr`` rows south and ``dc`` columns east
(row 0 = north).  Cells are unit squares centred on integer coordinates; a step is the straight segment between
the two centres.  For each move this module lists

* ``crossed``: every cell the segment passes through with positive length, as ``(row, col)`` offsets from the
  source and the fraction of the step's length inside that cell (fractions sum to 1; source and destination
  included);
* ``corners``: pairs of cells the segment only touches at a shared corner (a diagonal step touches its two
  orthogonal neighbours).  A step is blocked there when BOTH cells of a pair are non-burnable, which is how a
  4-connected line of non-burnable cells stops a level-set fire; a crossed non-burnable cell blocks the step.

Stencils: 8 (king moves), 16 (+ knight moves, the default) and 32 (+ (1, 3) and (2, 3) moves).
"""
from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple


class Move(NamedTuple):
    """One straight step of the stencil (all offsets relative to the source cell)."""

    dr: int
    dc: int
    crossed: tuple[tuple[int, int, float], ...]
    corners: tuple[tuple[tuple[int, int], tuple[int, int]], ...]

    @property
    def length(self) -> float:
        """Step length in cells."""
        return float((self.dr ** 2 + self.dc ** 2) ** 0.5)


_BASE_MOVES = {8: ((0, 1), (1, 1)), 16: ((0, 1), (1, 1), (1, 2)), 32: ((0, 1), (1, 1), (1, 2), (1, 3), (2, 3))}


def _symmetric(moves):
    """All sign and transpose variants of the base moves, in a fixed order."""
    out = []
    for a, b in moves:
        for dr, dc in ((a, b), (b, a)):
            for sr in (1, -1):
                for sc in (1, -1):
                    if (sr * dr, sc * dc) not in out:
                        out.append((sr * dr, sc * dc))
    return out


def _trace(dr: int, dc: int) -> Move:
    """Exact cell crossings of the segment (0, 0) -> (dr, dc) using rational arithmetic."""
    cuts = {Fraction(0), Fraction(1)}
    for d in (dr, dc):
        for k in range(-abs(d), abs(d) + 1):
            if d:
                t = Fraction(2 * k + 1, 2 * d)
                if 0 < t < 1:
                    cuts.add(t)
    cuts = sorted(cuts)
    cell = lambda t: (round(t * dr), round(t * dc))  # noqa: E731 — exact: midpoints never fall on a half
    crossed, corners = [], []
    for t0, t1 in zip(cuts[:-1], cuts[1:]):
        crossed.append((*cell((t0 + t1) / 2), float(t1 - t0)))
    for (r0, c0, _), (r1, c1, _) in zip(crossed[:-1], crossed[1:]):
        if r0 != r1 and c0 != c1:  # the segment passed exactly through a corner
            corners.append(((r0, c1), (r1, c0)))
    return Move(dr, dc, tuple(crossed), tuple(corners))


def moves(size: int = 16) -> tuple[Move, ...]:
    """The ``size``-neighbour stencil (8, 16 or 32) as a tuple of :class:`Move`."""
    if size not in _BASE_MOVES:
        raise ValueError(f"stencil must be 8, 16 or 32 neighbours, got {size}")
    return tuple(_trace(dr, dc) for dr, dc in _symmetric(_BASE_MOVES[size]))
