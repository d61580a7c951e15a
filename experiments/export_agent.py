"""Export a trained agent: ``python -m experiments.export_agent RUN_DIR OUT_DIR [--step N]``.

Writes ``OUT_DIR/config.json`` and a checkpoint of the online network parameters only
(:func:`jaxfire.checkpoint.export_policy`): the folder to commit or share, loadable with
``jaxfire.agents.load_policy(OUT_DIR)`` and ``python -m experiments.evaluate --agent OUT_DIR``.  A run folder also
holds the whole runner state (replay, environments) of its last checkpoints, megabytes that a policy does not need.
``OUT_DIR`` must not exist.
"""
from __future__ import annotations

import argparse

from jaxfire import checkpoint


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", help="a training run folder (config.json and checkpoints/)")
    p.add_argument("out_dir", help="the new folder to write (must not exist)")
    p.add_argument("--step", type=int, help="checkpoint step to export (default: the latest)")
    args = p.parse_args(argv)
    try:
        step = checkpoint.export_policy(args.run_dir, args.out_dir, args.step)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        raise SystemExit(f"error: {error}")
    print(f"exported the policy of {args.run_dir} after {step} updates to {args.out_dir}")
    return step


if __name__ == "__main__":
    main()
