"""Jacobi slot counts side by side on the suite's 50x50 landscape (seed 0), 256 fires, medians of 11
interleaved calls after compilation.  ``cur:S[:512]``: S slots, optionally 512-bit vectors (``compiler_options``).

    python slots.py 50 256 cur:32 cur:24 cur:48 cur:64 cur:16
"""
import sys, time, numpy as np, jax
import jaxfire
from jaxfire import fire, landscape as landscapes
from jaxfire.fire import jacobi
n, fires = int(sys.argv[1]), int(sys.argv[2])
variants = sys.argv[3:]
land = landscapes.synthetic(jax.random.key(0), (n, n))
grid = jax.jit(fire.spread_grid, static_argnums=(2,))(land, jaxfire.Weather(20.0, 270.0), 16)
ign = fire.sample_ignitions(jax.random.fold_in(jax.random.key(0), 1), land.burnable, fires)
fns, outs = {}, {}
for v in variants:
    parts = v.split(":")
    jacobi.SLOTS = int(parts[1]) if len(parts) > 1 else 32
    opts = {"xla_cpu_prefer_vector_width": 512} if "512" in parts[2:] else None
    f = jax.jit(lambda g, i, _v=v: fire.solve_many(g, i, 480.0, solver="jacobi"), compiler_options=opts)
    outs[v] = np.asarray(f(grid, ign)); fns[v] = f
times = {v: [] for v in variants}
for r in range(11):
    for v in variants:
        t = time.perf_counter(); fns[v](grid, ign).block_until_ready(); times[v].append(time.perf_counter() - t)
for v in variants:
    med = np.median(times[v])
    print(f"{v:14s} {med*1e3:7.1f} ms  {fires/med:7.0f} sims/s  same={np.array_equal(outs[v], outs[variants[0]])}")
