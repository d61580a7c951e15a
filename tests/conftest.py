"""Shared test helpers: the public pyretechnics reference data beside the repository (``../shared/reference``)."""
import json
import os
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


def load_reference(name: str) -> dict:
    """Load ``../shared/reference/<name>``; skip when absent, except under CI where its absence is a failure."""
    path = REFERENCE / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"reference data {path} missing on CI")
        pytest.skip(f"reference data {path} not present")
    return json.loads(path.read_text())
