"""Scatter-plot labels that do not overlap: one greedy placement for every figure we draw.

Both the matplotlib figure (``leaderboard.png`` / ``.svg``) and the site's inline SVG figures
place their point labels with :func:`place_labels`, in display units (pixels), so a label never
covers another label, a marker or an obstacle such as the legend.

>>> boxes = place_labels([(10, 10), (10, 10)], [(40, 8), (40, 8)], Box(0, 0, 200, 100))
>>> boxes[0] != boxes[1] and not boxes[0].overlaps(boxes[1])
True

Candidates are tried in a fixed order, ring by ring: every label first tries the places next to
its point (right, left, above, below, the diagonals), and only then do the unplaced ones go
farther out, with a leader line; crowded points choose first. The result is deterministic. A
label with no free place is left out (``None``); callers still name the point on hover.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

#: distances (pixels, beyond the marker) tried in turn; past the first a leader line is drawn
RADII = (3.0, 10.0, 20.0, 32.0, 46.0, 62.0, 80.0, 100.0, 125.0)
#: greedy passes at most (each puts the labels left out by the one before first)
ATTEMPTS = 4
#: where a label goes at each distance, as (dx, dy, shift): right, left, up, down, the diagonals;
#: then above and below with the label starting (shift 1) or ending (-1) at the point, and right
#: and left moved up or down by ``shift`` label heights
DIRECTIONS = ((1, 0, 0), (-1, 0, 0), (0, -1, 0), (0, 1, 0), (1, -1, 0), (1, 1, 0), (-1, -1, 0),
              (-1, 1, 0), (0, -1, 1), (0, 1, 1), (0, -1, -1), (0, 1, -1),
              (1, 0, -1), (1, 0, 1), (-1, 0, -1), (-1, 0, 1), (1, 0, -2), (1, 0, 2), (-1, 0, -2),
              (-1, 0, 2))


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle, ``x0 <= x1`` and ``y0 <= y1`` (any y direction)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        """True when the two rectangles share more than an edge."""
        return (self.x0 < other.x1 and other.x0 < self.x1
                and self.y0 < other.y1 and other.y0 < self.y1)

    def inside(self, other: Box) -> bool:
        """True when this rectangle lies within ``other``."""
        return (other.x0 <= self.x0 and self.x1 <= other.x1
                and other.y0 <= self.y0 and self.y1 <= other.y1)

    def crosses(self, start: tuple[float, float], end: tuple[float, float]) -> bool:
        """True when the segment ``start``–``end`` passes through the rectangle's interior."""
        (x0, y0), (x1, y1) = start, end
        t0, t1 = 0.0, 1.0
        dx, dy = x1 - x0, y1 - y0
        for p, q in ((-dx, x0 - self.x0), (dx, self.x1 - x0), (-dy, y0 - self.y0),
                     (dy, self.y1 - y0)):
            if p == 0:
                if q <= 0:
                    return False
                continue
            t = q / p
            if p < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
            if t0 >= t1:
                return False
        return True

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def nearest(self, point: tuple[float, float]) -> tuple[float, float]:
        """The point of the rectangle closest to ``point`` (where a leader line ends)."""
        return (min(max(point[0], self.x0), self.x1), min(max(point[1], self.y0), self.y1))


def text_width(text: str, font_size: float) -> float:
    """A generous estimate of a sans-serif label's width, for renderers that cannot measure.

    Wide (CJK) characters count one em, capitals and digits 0.68 em, narrow letters 0.34 em and
    the rest 0.6 em: a little wider than DejaVu Sans and Arial, so estimated boxes enclose the
    drawn text.
    """
    em = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in "WF":
            em += 1.0
        elif char in "ijlI.,:;'|!()[] ":
            em += 0.34
        elif char.isupper() or char.isdigit() or char in "mwMW_—–":
            em += 0.72
        else:
            em += 0.6
    return em * font_size


def place_labels(points: Sequence[tuple[float, float]], sizes: Sequence[tuple[float, float]],
                 bounds: Box, marker: float = 4.0, obstacles: Sequence[Box] = ()
                 ) -> list[Box | None]:
    """Place one label per point so that no two labels, markers or obstacles overlap.

    Args:
        points: the points' centres, in display units.
        sizes: each label's (width, height), in the same units.
        bounds: where labels may go (the plotting area).
        marker: the markers' half-size; every marker is an obstacle to every label.
        obstacles: further areas labels must avoid (a legend).

    Returns:
        Each label's box (in input order), or None where no candidate is free.
    """
    def crowding(i: int) -> tuple[int, float, float]:
        x, y = points[i]
        near = sum(abs(x - u) < 60 and abs(y - v) < 30 for u, v in points)
        return (-near, x, y)

    # crowded points first: a label with many neighbours has the fewest free places; labels
    # left out go first in the next attempt (a few attempts; the one naming most points wins)
    order = sorted(range(len(points)), key=crowding)
    best: list[Box | None] = []
    for _ in range(ATTEMPTS):
        placed = _place(order, points, sizes, bounds, marker, obstacles)
        if not best or sum(b is not None for b in placed) > sum(b is not None for b in best):
            best = placed
        missing = [i for i in order if placed[i] is None]
        if not missing:
            break
        order = missing + [i for i in order if placed[i] is not None]
    return best


def _place(order: Sequence[int], points: Sequence[tuple[float, float]],
           sizes: Sequence[tuple[float, float]], bounds: Box, marker: float,
           obstacles: Sequence[Box]) -> list[Box | None]:
    """One greedy pass over the labels in ``order``."""
    taken: list[Box] = [*obstacles]
    taken += [Box(x - marker, y - marker, x + marker, y + marker) for x, y in points]
    leaders: list[tuple[tuple[float, float], tuple[float, float]]] = []
    labels: list[Box] = [*obstacles]
    placed: list[Box | None] = [None] * len(points)
    # ring by ring: every label gets its nearest free place before any goes farther out
    for radius in RADII:
        gap = marker + radius
        for i in order:
            if placed[i] is not None:
                continue
            (x, y), (w, h) = points[i], sizes[i]
            for dx, dy, shift in DIRECTIONS:
                # the box's near edge (or corner) sits ``gap`` away from the point
                if dx:
                    left = x + gap if dx > 0 else x - gap - w
                else:
                    left = x - w / 2 if not shift else x - marker if shift > 0 else x + marker - w
                top = (y + gap if dy > 0 else y - gap - h) if dy else y - h / 2 + shift * h
                box = Box(left, top, left + w, top + h)
                if not box.inside(bounds) or any(box.overlaps(t) for t in taken):
                    continue
                if any(box.crosses(*segment) for segment in leaders):
                    continue
                if radius > RADII[0]:  # a leader line, which must not cross a label
                    leader = ((x, y), box.nearest((x, y)))
                    if any(t.crosses(*leader) for t in labels):
                        continue
                    leaders.append(leader)
                placed[i] = box
                taken.append(box)
                labels.append(box)
                break
    return placed

