"""``python -m experiments.train --algo dqn|pqn ...``: the training command under its algorithm-neutral name (the
same command line as ``python -m experiments.train_dqn``, which holds the code)."""
from experiments.train_dqn import main

if __name__ == "__main__":
    main()
