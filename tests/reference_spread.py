"""Independent plain-Python reference for the spread automaton: Dijkstra (heapq) on the same stencil and rules.

Shares nothing with ``jaxfire.fire`` / ``jaxfire.stencil`` but the per-cell Rothermel outputs: the cells a step
crosses are found by clipping the segment against every cell square (Liang-Barsky), ray rates come from 3-D
vectors on the slope plane, and the graph search is textbook Dijkstra.
"""
from __future__ import annotations

import heapq
import math

import numpy as np

CORNER_SHARE = 1.0 / 3.0  # length share of the faster corner cell of a step through a grid corner

MOVE_SETS = {
    8: [(0, 1), (1, 1)],
    16: [(0, 1), (1, 1), (1, 2)],
    32: [(0, 1), (1, 1), (1, 2), (1, 3), (2, 3)],
}


def stencil(size):
    out = set()
    for a, b in MOVE_SETS[size]:
        for dr, dc in ((a, b), (b, a)):
            for sr in (1, -1):
                for sc in (1, -1):
                    out.add((sr * dr, sc * dc))
    return sorted(out)


def _clip_length(dr, dc, r, c):
    """Fraction of the segment (0,0)->(dr,dc) inside the unit square centred at (r, c) (Liang-Barsky)."""
    t0, t1 = 0.0, 1.0
    for p, q in ((-dr, 0 - (r - 0.5)), (dr, (r + 0.5) - 0), (-dc, 0 - (c - 0.5)), (dc, (c + 0.5) - 0)):
        if p == 0:
            if q < 0:
                return 0.0
        else:
            t = q / p
            if p < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
    return max(0.0, t1 - t0)


def step_geometry(dr, dc):
    """(crossed [(r, c, fraction)], corner pairs [((r, c), (r, c))]) for the move (dr, dc)."""
    crossed = []
    for r in range(min(0, dr), max(0, dr) + 1):
        for c in range(min(0, dc), max(0, dc) + 1):
            f = _clip_length(dr, dc, r, c)
            if f > 1e-12:
                crossed.append((r, c, f))
    pairs = []
    n = 2 * max(abs(dr), abs(dc))
    for k in range(1, 4 * n):  # corner points (half-integer coordinates) lying on the segment
        t = k / (4 * n)
        pr, pc = t * dr, t * dc
        if abs(pr - round(pr - 0.5) - 0.5) < 1e-12 and abs(pc - round(pc - 0.5) - 0.5) < 1e-12:
            around = [(math.floor(pr) + a, math.floor(pc) + b) for a in (0, 1) for b in (0, 1)]
            touching = [cell for cell in around if all((cell[0], cell[1]) != (x[0], x[1]) for x in crossed)]
            if len(touching) == 2:
                pairs.append((touching[0], touching[1]))
    return crossed, sorted(set(pairs))


def slowness(R, e, heading_deg, slope_deg, aspect_deg, azimuth_deg):
    """Minutes per map metre in map direction ``azimuth_deg`` (3-D vectors on the slope plane)."""
    if R <= 0:
        return math.inf
    s = math.radians(slope_deg)
    down = math.radians(aspect_deg)
    # z(x, y) rises toward the upslope azimuth: grad z = tan(s) * upslope unit vector (x east, y north).
    gx, gy = -math.tan(s) * math.sin(down), -math.tan(s) * math.cos(down)

    def lift(az_deg):
        x, y = math.sin(math.radians(az_deg)), math.cos(math.radians(az_deg))
        return np.array([x, y, gx * x + gy * y])

    step, head = lift(azimuth_deg), lift(heading_deg)
    ground = np.linalg.norm(step)
    cos_psi = step @ head / (ground * np.linalg.norm(head))
    return ground * (1 - e * cos_psi) / (R * (1 - e))


def arrival_times(R, e, heading_deg, slope_deg, aspect_deg, burnable, ignitions, max_minutes,
                  cell_size_m=30.0, neighbours=16):
    """Dijkstra arrival times (minutes, inf beyond the cap) on ``[H, W]`` NumPy inputs."""
    H, W = burnable.shape
    moves = stencil(neighbours)
    geometry = {m: step_geometry(*m) for m in moves}
    slow = {}
    for dr, dc in moves:
        az = math.degrees(math.atan2(dc, -dr))
        slow[(dr, dc)] = np.array([[slowness(R[i, j], e[i, j], heading_deg[i, j], slope_deg[i, j],
                                             aspect_deg[i, j], az) if burnable[i, j] else math.inf
                                    for j in range(W)] for i in range(H)])
    ignited = {(int(r), int(c)) for r, c in ignitions}  # point sources, burnable or not
    T = np.full((H, W), math.inf)
    heap = [(0.0, cell) for cell in ignited]
    for _, (r, c) in heap:
        T[r, c] = 0.0
    done = np.zeros((H, W), bool)
    while heap:
        t, (r, c) = heapq.heappop(heap)
        if done[r, c]:
            continue
        done[r, c] = True
        for (dr, dc) in moves:
            i, j = r + dr, c + dc
            if not (0 <= i < H and 0 <= j < W):
                continue
            crossed, pairs = geometry[(dr, dc)]
            if any(0 <= r + a < H and 0 <= c + b < W and 0 <= r + x < H and 0 <= c + y < W
                   and not burnable[r + a, c + b] and not burnable[r + x, c + y] for (a, b), (x, y) in pairs):
                continue
            s = slow[(dr, dc)]
            share = {}  # a corner cell takes CORNER_SHARE of the two crossed cells meeting at its corner
            for (a, b), (x, y) in pairs:
                meet = [k for k, (p, q, _) in enumerate(crossed) if p in (a, x) and q in (b, y)]
                for k in meet:
                    share[k] = CORNER_SHARE
            cost = 0.0
            for k, (a, b, frac) in enumerate(crossed):
                if (a, b) == (0, 0) and (r, c) in ignited:
                    continue  # the ignited cell burns as a whole from t = 0
                cost += frac * (1 - share.get(k, 0.0)) * s[r + a, c + b]
            for (a, b), (x, y) in pairs:  # via the faster of the two corner cells
                meet = sum(f for p, q, f in crossed if p in (a, x) and q in (b, y)
                           and not ((p, q) == (0, 0) and (r, c) in ignited))  # the ignited cell's share is free
                cost += CORNER_SHARE * meet * min(s[r + a, c + b], s[r + x, c + y])
            cost *= cell_size_m * math.hypot(dr, dc)
            if t + cost < T[i, j]:
                T[i, j] = t + cost
                heapq.heappush(heap, (t + cost, (i, j)))
    T[T > max_minutes] = math.inf
    T[~burnable] = math.inf  # an ignited non-burnable cell ignites its neighbours but does not burn
    return T
