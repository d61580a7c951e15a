"""Fuel-break planners: the shared contract, DomiRank against NumPy, DPV against hand-built trees, greedy search."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxfire
from jaxfire import fire, landscape, planners
from jaxfire.planners import lines

SHAPE = (20, 20)  # every jitted call shares this shape (and 16 ignitions) so each compiles once
WEATHER = jaxfire.Weather(15.0, 250.0)
KEY = jax.random.key(0)


@pytest.fixture(scope="module")
def land():
    return landscape.synthetic(jax.random.key(3), SHAPE, roads=1, rivers=1, lakes=0)


@pytest.fixture(scope="module")
def ignitions(land):
    return fire.sample_ignitions(jax.random.key(1), land.burnable, 16)


def burned(land, treated, ignitions):
    """Expected burned fraction (compiled once, shared with the other ``fire.burn_probability`` calls)."""
    return float(fire.burn_probability(land.with_fuel_breaks(treated), WEATHER, ignitions, 480.0, 16).mean())


def from_fuel(fuel):
    return landscape.from_arrays(fuel, np.zeros(fuel.shape), np.zeros(fuel.shape))


@pytest.mark.parametrize("name", sorted(planners.PLANNERS))
def test_exact_budget_of_burnable_cells_deterministic(name, land):
    method = planners.PLANNERS[name]
    plans = [np.asarray(method(KEY, land, WEATHER, 5, num_ignitions=16)) for _ in range(2)]
    assert plans[0].dtype == bool and plans[0].shape == SHAPE
    assert plans[0].sum() == 5 and not (plans[0] & ~np.asarray(land.burnable)).any()
    np.testing.assert_array_equal(plans[0], plans[1])
    # ranked=True gives the picking order: its first 5 cells are the plan, each rank used once.
    rank = np.asarray(method(KEY, land, WEATHER, 5, num_ignitions=16, ranked=True))
    assert rank.dtype == np.int32 and sorted(rank[plans[0]]) == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(rank < 5, plans[0])


@pytest.mark.parametrize("name", sorted(planners.PLANNERS))
def test_bad_budgets_and_empty_landscape_raise(name, land):
    method = planners.PLANNERS[name]
    available = int(np.asarray(land.burnable).sum())
    with pytest.raises(ValueError, match=f"{available + 1}.*{available}"):
        method(KEY, land, WEATHER, available + 1)
    for budget in (-1, 2.5):
        with pytest.raises(ValueError, match="budget_cells"):
            method(KEY, land, WEATHER, budget)
    with pytest.raises(ValueError, match="no burnable"):
        method(KEY, from_fuel(np.full(SHAPE, 99)), WEATHER, 1)


def test_traced_budget_and_top_cells(land):
    plan = jax.jit(lambda budget: planners.random(KEY, land, WEATHER, budget))(7)
    assert int(plan.sum()) == 7 and not (plan & ~land.burnable).any()
    assert int(planners.random(KEY, land, WEATHER, 0).sum()) == 0
    score = jnp.array([[3.0, 1.0, 3.0], [2.0, jnp.nan, 5.0]])
    eligible = jnp.array([[True, True, True], [True, True, False]])
    np.testing.assert_array_equal(planners.top_cells(score, eligible, 2), [[True, False, True], [False] * 3])
    np.testing.assert_array_equal(planners.top_cells(score, eligible, 9), eligible)  # only eligible cells


def test_sample_ignitions(land):
    cells = np.asarray(fire.sample_ignitions(KEY, land.burnable, 64))
    assert cells.shape == (64, 2) and np.asarray(land.burnable)[tuple(cells.T)].all()
    p = np.zeros(SHAPE)
    r, c = np.argwhere(np.asarray(land.burnable))[7]
    p[r, c] = 0.3
    np.testing.assert_array_equal(fire.sample_ignitions(KEY, land.burnable, 8, p), [[r, c]] * 8)
    with pytest.raises(ValueError, match="zero on every burnable"):
        planners.dpv(KEY, land, WEATHER, 1, ignition_probability=np.where(np.asarray(land.burnable), 0.0, 1.0))
    with pytest.raises(ValueError, match="shape"):
        fire.sample_ignitions(KEY, land.burnable, 4, np.ones((3, 3)))


@pytest.mark.parametrize("neighbours", [8, 16])
def test_treat_grid_matches_recomputed_step_times(land, neighbours):
    treated = jnp.asarray(np.random.default_rng(0).random(SHAPE) < 0.15)
    got = fire.treat_grid(fire.spread_grid(land, WEATHER, neighbours), land.burnable, treated)
    expected = fire.spread_grid(land.with_fuel_breaks(treated), WEATHER, neighbours)
    np.testing.assert_array_equal(got.step_minutes, expected.step_minutes)
    np.testing.assert_array_equal(got.first_step_minutes, expected.first_step_minutes)


def numpy_adjacency(land):
    """``A[i, j]`` = 1 / minutes from flat cell ``i`` into king neighbour ``j``, by explicit loops."""
    grid = fire.spread_grid(land, WEATHER, 8)
    steps, (H, W) = np.asarray(grid.step_minutes, np.float64), land.shape
    A = np.zeros((H * W, H * W))
    for k, move in enumerate(grid.moves):
        for i in range(H):
            for j in range(W):
                si, sj = i - move.dr, j - move.dc
                if 0 <= si < H and 0 <= sj < W and np.isfinite(steps[k, i, j]):
                    A[si * W + sj, i * W + j] = 1.0 / steps[k, i, j]
    return A


@pytest.mark.parametrize("dense_max_cells", [4096, 0])  # dense LU, GMRES
def test_domirank_matches_numpy(land, dense_max_cells):
    A = numpy_adjacency(land)
    gamma, sigma = planners.domirank_scores(KEY, land, WEATHER, None, dense_max_cells=dense_max_cells)
    sigma = float(sigma)
    lambda_min = np.linalg.eigvals(A).real.min()
    assert 0.7 * 0.95 / -lambda_min < sigma < 0.95 / -lambda_min  # a tight, safe bound on DomiRank's sigma
    expected = sigma * np.linalg.solve(sigma * A + np.eye(len(A)), A.sum(1))
    np.testing.assert_allclose(np.asarray(gamma).ravel(), expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
    plan = planners.domirank(KEY, land, WEATHER, 6, dense_max_cells=dense_max_cells)
    assert expected[np.asarray(plan).ravel()].min() >= np.sort(expected)[-6] - 1e-4 * expected.max()  # the top 6


def test_dpv_on_a_strip():
    fuel = np.full(SHAPE, 99)
    fuel[0, :5] = 102  # a 1x5 strip ignited at its west end: a chain (the ignition point scores 0: treating it
    # does not stop the fire, which starts there regardless)
    strip = from_fuel(fuel)
    scores = np.asarray(fire.dpv_scores(strip, WEATHER, np.zeros((16, 2), int), 1e4, 16))
    expected = np.zeros(SHAPE)
    expected[0, :5] = [0, 4, 3, 2, 1]
    np.testing.assert_array_equal(scores, expected)


def test_arrival_tree_is_the_shortest_path_tree(land, ignitions):
    grid = fire.spread_grid(land, WEATHER, 16)
    mask = fire.ignition_mask(ignitions[4], SHAPE) | fire.ignition_mask(ignitions[10], SHAPE)  # in the big region
    times = fire.solve(grid, mask, 1e4)
    parent = np.asarray(fire.arrival_tree(grid, times, mask))
    times, mask, (H, W) = np.asarray(times), np.asarray(mask), SHAPE
    offsets = {(m.dr, m.dc): k for k, m in enumerate(grid.moves)}
    roots = mask & np.isfinite(times)
    assert (parent[roots | ~np.isfinite(times)] == -1).all()
    children = np.argwhere(np.isfinite(times) & ~roots)
    assert len(children) > 50
    for i, j in children:
        pi, pj = divmod(parent[i, j], W)
        step = grid.first_step_minutes if roots[pi, pj] else grid.step_minutes
        assert times[i, j] == pytest.approx(times[pi, pj] + float(step[offsets[i - pi, j - pj], i, j]), abs=1e-4)
    # subtree sizes against a direct count: each burned cell adds one to itself and every ancestor
    expected = np.zeros(H * W)
    for i, j in np.argwhere(np.isfinite(times)):
        cell = i * W + j
        while cell >= 0:
            expected[cell] += 1
            cell = parent.ravel()[cell]
    np.testing.assert_array_equal(fire.subtree_sizes(jnp.asarray(parent), jnp.asarray(times)).ravel(), expected)


def _subtree_sizes_by_walking_up(parent, burned):
    """Each burned cell adds one to itself and to every ancestor (plain Python)."""
    expected = np.zeros(parent.size, int)
    for cell in np.flatnonzero(burned):
        while cell >= 0:
            expected[cell] += 1
            cell = parent[cell]
    return expected


@pytest.mark.parametrize("seed", range(6))
def test_subtree_sizes_of_random_forests_and_a_chain_as_deep_as_the_grid(seed):
    """Random forests of every depth (each cell's parent arrived earlier in a random order), with unburned cells,
    and one chain through all cells (the deepest tree a grid holds: pointer doubling's every round is needed)."""
    rng = np.random.default_rng(seed)
    H, W = (7, 9) if seed % 2 else (1, 33)
    n = H * W
    order = rng.permutation(n)
    parent = np.full(n, -1)
    if seed == 0:
        parent[order[1:]] = order[:-1]                                           # one chain, n - 1 hops deep
    else:
        for k in range(1, n):
            if rng.random() < 0.9:                                               # else a new root
                parent[order[k]] = order[rng.integers(max(0, k - 1 - 3 * seed), k)]  # near ones: deep trees
    times = np.full(n, np.inf)
    times[order] = np.arange(n, dtype=float)
    unburned = order[n - (rng.integers(1, n // 4 + 1) if seed > 1 else 0):]  # the latest: their children too
    parent[unburned], times[unburned] = -1, np.inf
    sizes = fire.subtree_sizes(jnp.asarray(parent.reshape(H, W), jnp.int32),
                               jnp.asarray(times.reshape(H, W), jnp.float32))
    np.testing.assert_array_equal(np.asarray(sizes).ravel(), _subtree_sizes_by_walking_up(parent, np.isfinite(times)))


@pytest.mark.slow
def test_greedy_beats_single_candidate_dpv_and_random(land, ignitions):
    greedy = planners.greedy(KEY, land, WEATHER, 5, ignitions=ignitions)
    top_dpv = planners.top_cells(fire.dpv_scores(land, WEATHER, ignitions, 480.0, 16), land.burnable, 1)
    value = burned(land, greedy, ignitions)
    assert value <= burned(land, top_dpv, ignitions)  # greedy's first round already does at least this well
    assert value <= burned(land, planners.dpv(KEY, land, WEATHER, 5, ignitions=ignitions), ignitions)
    assert value < burned(land, planners.random(KEY, land, WEATHER, 5), ignitions)


def test_greedy_and_dpv_cut_the_neck():
    fuel = np.full(SHAPE, 102)
    fuel[7] = 99
    fuel[7, 10] = 102  # a 1-cell neck joins the north (rows 0-6) and south (rows 8-19) halves
    corridor = from_fuel(fuel)
    north = np.argwhere(fuel[:7] != 99)
    ignitions = north[np.random.default_rng(0).choice(len(north), 16, replace=False)]
    for method in (planners.dpv, planners.greedy, planners.cut_lines):
        plan = np.asarray(method(KEY, corridor, WEATHER, 1, ignitions=ignitions, max_minutes=1e4))
        assert plan[7, 10] and plan.sum() == 1, method.__name__
        treated = corridor.with_fuel_breaks(jnp.asarray(plan))
        probability = np.asarray(fire.burn_probability(treated, WEATHER, ignitions, 1e4, 16))
        assert probability[8:].max() == 0 and probability[:7].min() > 0, method.__name__


def test_crossings_against_a_loop():
    rng = np.random.default_rng(0)
    burned = rng.random((3, 6, 7)) < 0.3
    line = np.array([0, 3, 6])
    top, bottom, saved = map(np.asarray, lines.crossings(jnp.asarray(burned), jnp.asarray(line)))
    for n in range(3):
        for c in range(7):
            rows = np.flatnonzero(burned[n, :, c])
            assert (top[n, c], bottom[n, c]) == ((rows[0], rows[-1]) if len(rows) else (6, -1))
            away = burned[n, :, c:] if line[n] < c else burned[n, :, :c + 1] if line[n] > c else burned[n, :, :0]
            assert saved[n, c] == away.sum()


@pytest.mark.parametrize("neighbours", [pytest.param(8, marks=pytest.mark.slow), 16,
                                        pytest.param(32, marks=pytest.mark.slow)])
def test_a_tight_cut_stops_the_fire_at_its_line(neighbours):
    """Treating column c over the rows a fire burned there leaves nothing burned from c on (away from its
    ignition), so it saves at least ``saved`` cells (near-side cells reached across the line and back may be lost
    too), on heterogeneous landscapes under different winds; the same on rows through the transpose."""
    land = landscape.synthetic(jax.random.key(neighbours), SHAPE)
    grid = fire.spread_grid(land, jaxfire.Weather(20.0, 30.0 * neighbours), neighbours)
    ignitions = fire.sample_ignitions(jax.random.key(5), land.burnable, 4)

    @jax.jit
    def burned_after(treated):
        return jnp.isfinite(fire.solve_many(fire.treat_grid(grid, land.burnable, treated), ignitions, 300.0))

    burned = burned_after(jnp.zeros(SHAPE, bool))
    checked = exact = 0
    for transpose in (False, True):
        view = burned.transpose(0, 2, 1) if transpose else burned
        line = np.asarray(ignitions[:, 0 if transpose else 1])
        top, bottom, saved = map(np.asarray, lines.crossings(view, jnp.asarray(line)))
        for n, c in zip(*np.nonzero(saved)):
            cut = np.zeros(view.shape[1:], bool)
            cut[top[n, c]:bottom[n, c] + 1, c] = True
            after = np.asarray(burned_after(jnp.asarray((cut.T if transpose else cut) & np.asarray(land.burnable))))[n]
            after = after.T if transpose else after
            beyond = after[:, c:] if line[n] < c else after[:, :c + 1]
            assert not beyond.any() and not (after & ~np.asarray(view[n])).any(), (transpose, n, c)
            assert after.sum() <= view[n].sum() - saved[n, c]
            checked += 1
            exact += after.sum() == view[n].sum() - saved[n, c]
    assert checked > 20 and exact > checked / 2


def test_cut_lines_closes_the_gap_in_a_barrier():
    fuel = np.full(SHAPE, 102)
    fuel[7] = 99
    fuel[7, 9:12] = 102  # a 3-cell gap in a river between the north and south halves
    gap = from_fuel(fuel)
    north = np.argwhere(fuel[:7] != 99)
    ignitions = north[np.random.default_rng(1).choice(len(north), 16, replace=False)]
    plan = np.asarray(planners.cut_lines(KEY, gap, WEATHER, 3, ignitions=ignitions, max_minutes=1e4))
    np.testing.assert_array_equal(np.argwhere(plan), [[7, 9], [7, 10], [7, 11]])


def test_cut_lines_plans_with_fewer_fires_than_it_drains_at_once():
    """Fewer planning fires than ``lines.DRAIN`` (the fires forgotten at a time once a cut stops them) still plan:
    the gap in the river is closed for 3 fires as for 16."""
    gap, ignitions = gap_landscape()
    assert len(ignitions[:3]) < lines.DRAIN
    plan = np.asarray(planners.cut_lines(KEY, gap, WEATHER, 3, ignitions=ignitions[:3], max_minutes=1e4))
    np.testing.assert_array_equal(np.argwhere(plan), [[7, 9], [7, 10], [7, 11]])


def test_cut_lines_beats_dpv_and_greedy_on_held_out_fires():
    results = {}
    for seed in range(2):
        land = landscape.synthetic(jax.random.key(30 + seed), SHAPE)
        held_out = fire.sample_ignitions(jax.random.key(7 + seed), land.burnable, 64)
        for name in ("cut_lines", "dpv", "greedy"):
            plan = planners.PLANNERS[name](KEY, land, WEATHER, 12, num_ignitions=16)
            results[name] = results.get(name, 0.0) + burned(land, plan, held_out)
    assert results["cut_lines"] < results["dpv"] and results["cut_lines"] < results["greedy"], results


def gap_landscape():
    """A river across row 7 with a 3-cell gap (columns 9-11); 16 fires in the north half."""
    fuel = np.full(SHAPE, 102)
    fuel[7] = 99
    fuel[7, 9:12] = 102
    north = np.argwhere(fuel[:7] != 99)
    return from_fuel(fuel), north[np.random.default_rng(1).choice(len(north), 16, replace=False)]


def next_cut(land, ignitions, treated, budget, max_minutes=1e4):
    grids = planners.scoring.scenario_grids(land, WEATHER, 16)
    return np.asarray(planners.next_cut(grids, land.burnable, jnp.asarray(ignitions), jnp.asarray(treated), budget,
                                        max_minutes))


def test_next_cut_finishes_a_half_closed_gap_and_falls_back_to_dpv():
    """The teacher queried from partial plans: the gap's untreated cells while the gap is open (one of them
    already treated costs nothing), then, with the gap closed and no fire crossing anything worth cutting, the one
    cell of highest DPV; nothing once the budget is spent."""
    gap, ignitions = gap_landscape()
    treated = np.zeros(SHAPE, bool)
    np.testing.assert_array_equal(np.argwhere(next_cut(gap, ignitions, treated, 3)), [[7, 9], [7, 10], [7, 11]])
    treated[7, 10] = True
    np.testing.assert_array_equal(np.argwhere(next_cut(gap, ignitions, treated, 3)), [[7, 9], [7, 11]])
    treated[7, 9:12] = True
    dpv = np.asarray(planners.scoring.dpv(planners.scoring.scenario_grids(gap, WEATHER, 16), jnp.asarray(ignitions),
                                          1e4, jnp.asarray(treated)))
    after = next_cut(gap, ignitions, treated, 5)
    assert after.sum() == 1 and dpv[after].item() == dpv[np.asarray(gap.burnable) & ~treated].max()
    assert not next_cut(gap, ignitions, treated, 3).any()


def test_next_cut_from_nothing_is_the_first_cut_of_cut_lines(land, ignitions):
    """From an untreated landscape the teacher's answer is the cells cut_lines places first (ranks 0..k-1)."""
    rank = np.asarray(planners.cut_lines(KEY, land, WEATHER, 20, ignitions=ignitions, ranked=True))
    cut = next_cut(land, ignitions, np.zeros(SHAPE, bool), 20, 480.0)
    assert 0 < cut.sum() <= 20
    np.testing.assert_array_equal(cut, rank < cut.sum())
