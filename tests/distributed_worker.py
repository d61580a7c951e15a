"""One process of the 2-process check in ``test_parallel.py``: a distributed burn probability and DQN chunk.

Usage: ``python tests/distributed_worker.py COORDINATOR NUM_PROCESSES PROCESS_ID CPU_DEVICES OUT.npz``
(``NUM_PROCESSES`` 1 runs the single-process reference).  Process 0 writes the results.
"""
import sys

import numpy as np


def main(coordinator, num_processes, process_id, cpu_devices, out):
    import jax

    import jaxfire
    from jaxfire import landscape, parallel
    from jaxfire.agents import dqn

    if num_processes > 1:
        parallel.configure_devices(cpu_devices, coordinator, num_processes, process_id, timeout_s=60)
    else:
        parallel.configure_devices(cpu_devices)

    land = landscape.synthetic(jax.random.key(0), (24, 24))
    cells = np.argwhere(np.asarray(land.burnable))
    ignitions = cells[np.random.default_rng(0).integers(0, len(cells), 13)]
    mesh = parallel.data_mesh()
    probability = parallel.burn_probability(land, jaxfire.Weather(20.0, 270.0), ignitions, 300.0, mesh)

    config = dqn.DQNConfig(landscape_side=10, num_landscapes=2, test_fraction=0.5, ignitions_per_evaluation=3, scenarios_per_landscape=2,
                           num_envs=4, buffer_per_env=16, batch_size=8, learning_starts=2, features=(8,), dilations=(1,))
    learner = dqn.build(config)
    shardings = parallel.state_shardings(jax.eval_shape(learner.init, jax.random.key(0)), mesh, config.num_envs)
    state = jax.jit(learner.init, out_shardings=shardings)(jax.random.key(0))
    state, _ = jax.jit(lambda s: jax.lax.scan(learner.update, s, None, 6), in_shardings=(shardings,),
                       out_shardings=(shardings, None))(state)
    local = lambda x: np.asarray(x.addressable_data(0))  # noqa: E731 (replicated arrays: any local copy)
    params = np.concatenate([local(x).ravel() for x in jax.tree.leaves(state.params)])
    if process_id == 0:
        np.savez(out, burn_probability=local(probability), params=params, devices=len(jax.devices()))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
