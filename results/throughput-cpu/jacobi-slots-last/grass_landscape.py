"""Jacobi vs ordered sweeps on an all-grass landscape without roads, rivers or lakes (a fire burns about half
of a 50x50), 256 fires, medians of 7 interleaved calls after compilation.

    python grass_landscape.py [side]
"""
import sys, time, numpy as np, jax, jaxfire
from jaxfire import fire, landscape as landscapes
n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
land = landscapes.synthetic(jax.random.key(0), (n, n), fuel_fractions=(1.0, 0.0, 0.0), roads=0, rivers=0, lakes=0)
grid = jax.jit(fire.spread_grid, static_argnums=(2,))(land, jaxfire.Weather(20.0, 270.0), 16)
ign = fire.sample_ignitions(jax.random.fold_in(jax.random.key(0), 1), land.burnable, 256)
fns = {k: jax.jit(lambda g, i, k=k: fire.solve_many(g, i, 480.0, solver=k)) for k in ("jacobi", "sweep")}
outs = {k: np.asarray(f(grid, ign)) for k, f in fns.items()}
ts = {k: [] for k in fns}
for r in range(7):
    for k, f in fns.items():
        t = time.perf_counter(); f(grid, ign).block_until_ready(); ts[k].append(time.perf_counter() - t)
print(f"{n}x{n} all grass, burned fraction {np.isfinite(outs['jacobi']).mean():.2f}, "
      f"identical {np.array_equal(outs['jacobi'], outs['sweep'])}")
for k in fns: print(f"  {k}: {np.median(ts[k])*1e3:.1f} ms, {256/np.median(ts[k]):.0f} sims/s")
