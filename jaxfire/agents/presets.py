"""Named training configurations (``--preset`` of ``python -m experiments.train``): per algorithm, the config
fields (:mod:`jaxfire.agents.config`) and, for PQN, the run settings (chunk, checkpoint and evaluation cadence,
:class:`jaxfire.training.RunSettings`) that a preset sets; flags given explicitly override them.
"""
from __future__ import annotations

DQN_PRESETS = {
    # CPU: 32x32 landscapes (8 held out), <= 10 min on 2 cores (6.6-6.7 idle) including compilation and evaluation;
    # the standard recipe at a smaller size: cut-lines demonstrations (simulation search, the best planner here;
    # 8 environments x 512 steps, ~85 plans) and 1,200 pre-training steps on them, then 600 updates with DAgger at
    # half the rate, half of every batch demonstrated.  0.80 / 0.81 / 0.81 x dpv on the harness, seeds 0 / 1 / 2
    # (with 128 demonstration steps and 300 pre-training steps: 0.88-0.96 x with these layers, 0.90-0.98 x with
    # 16 channels; without DAgger, 1,500 RL updates: 1.00 / 0.92 x).
    "quick": dict(landscape_side=32, num_landscapes=32, ignitions_per_evaluation=8, scenarios_per_landscape=4,
                  num_envs=8, total_updates=600, buffer_per_env=2048, batch_size=32, features=(32, 32, 32, 32),
                  learning_starts=32, learning_rate=1e-3, finetune_lr_scale=0.5, epsilon_start=0.5,
                  demo_baseline="cut_lines", demo_steps=512, pretrain_steps=1200, demo_fraction=0.5, dagger=True,
                  eval_every=300, checkpoint_every=300),
    # CPU, <= 60 min on 2 cores (29 min, other jobs sharing the cores): results/agents/standard (seed 0).  50x50
    # landscapes (48 train, 16 held out); four 16-channel layers (a plan in ~0.12 s); 16 environments each place
    # ~12 cut-lines plans (1,344 demonstration steps, ~190 plans), 3,000 pre-training steps on them, then 600
    # updates with DAgger: every state the agent visits is labelled with the teacher's next cut there and imitated
    # when replayed, half of every batch from the demonstrations, at half the rate (RL alone at the full rate
    # overfitted each scenario's fixed hidden fires: the held-out burned fraction rose from 0.100 to 0.115 in 500
    # updates while the training return rose).  0.71 x dpv on the harness (seed 0; four 32-channel layers: 0.72 x,
    # planning 1.7x as long; three 16-channel layers dilated 1, 3, 9: 0.77 x, 0.86 x with more barriers, planning
    # 0.8x as long; with 448 demonstration steps and 500 pre-training steps, 32 channels: 0.79 / 0.82 x).
    "standard": dict(landscape_side=50, num_landscapes=64, ignitions_per_evaluation=8, scenarios_per_landscape=4,
                     num_envs=16, total_updates=600, buffer_per_env=1024, batch_size=32, features=(16, 16, 16, 16),
                     learning_starts=32, learning_rate=5e-4, finetune_lr_scale=0.5, epsilon_start=0.2,
                     demo_baseline="cut_lines", demo_steps=1344, pretrain_steps=3000, demo_fraction=0.5,
                     dagger=True, eval_every=150, checkpoint_every=150),
    # GPU, ~5 min on one H200 (4.7 min with compilation, 2.8 with a warm compilation cache): results/agents/gpu.
    # The standard recipe with 4x its environments and batch and 2.5x its updates (96,000 env steps), 4x the
    # training landscapes (a pool of its own, landscape_seed 1, so the standard's held-out split stays unseen), 16
    # fires per reward, 448 demonstration steps per environment and 2,000 pre-training steps of 128: 0.69 / 0.67 x
    # dpv on the harness, seeds 0 / 1.
    "gpu": dict(landscape_side=50, num_landscapes=256, landscape_seed=1, ignitions_per_evaluation=16,
                scenarios_per_landscape=4, num_envs=64, total_updates=1500, buffer_per_env=1024, batch_size=128,
                features=(32, 32, 32, 32), learning_starts=32, learning_rate=5e-4, finetune_lr_scale=0.5,
                epsilon_start=0.2, demo_baseline="cut_lines", demo_steps=448, pretrain_steps=2000,
                demo_fraction=0.5, dagger=True, eval_every=250, checkpoint_every=250),
}
PQN_PRESETS = {
    # CPU: 32x32 landscapes; 64 environments x 8 steps per update (512 env steps), 4 minibatches of 128, one epoch,
    # 120 updates = 61,440 env steps; cut-lines demonstrations (a 48-step rollout of every environment, ~one
    # episode) and 5 pre-training epochs.  Chunks of 10 updates (an update is a whole rollout).  Not yet tuned (see
    # README).
    "quick": dict(landscape_side=32, num_landscapes=32, ignitions_per_evaluation=8, scenarios_per_landscape=4,
                  num_envs=64, rollout_steps=8, minibatches=4, epochs=1, total_updates=120,
                  features=(16, 16, 16, 16), learning_rate=5e-4, epsilon_start=0.5, demo_baseline="cut_lines",
                  demo_steps=48, pretrain_steps=20, chunk=10, checkpoint_every=40, eval_every=40),
    # GPU: 50x50 landscapes, 1,024 environments x 16 steps per update (16,384 env steps), 16 minibatches of 1,024,
    # 2 epochs; a 32-step cut-lines demonstration rollout (its observations take ~4.6 GB) and 20 pre-training epochs.
    "full": dict(landscape_side=50, num_landscapes=128, ignitions_per_evaluation=32, scenarios_per_landscape=16,
                 num_envs=1024, rollout_steps=16, minibatches=16, epochs=2, total_updates=1000, epsilon_start=0.5,
                 demo_baseline="cut_lines", demo_steps=32, pretrain_steps=320, chunk=20, checkpoint_every=100,
                 eval_every=100),
}
PRESETS = {"dqn": DQN_PRESETS, "pqn": PQN_PRESETS}  # algorithm -> preset name -> config fields (and settings)
