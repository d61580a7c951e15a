"""Shared test helpers: the public pyretechnics reference data beside the repository (``../shared/reference``) and
a persistent JAX compilation cache for modules that train the same programs again and again."""
import json
import os
from pathlib import Path

import jax
import pytest
from jax.experimental.compilation_cache import compilation_cache

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


def load_reference(name: str) -> dict:
    """Load ``../shared/reference/<name>``; skip when absent, except under CI where its absence is a failure."""
    path = REFERENCE / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"reference data {path} missing on CI")
        pytest.skip(f"reference data {path} not present")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def persistent_compilation_cache(request, tmp_path_factory):
    """Every run (or resumed run) jits fresh closures of the same programs: a persistent cache (kept in pytest's cache
    directory across sessions when available) compiles each program once.  Use with
    ``pytestmark = pytest.mark.usefixtures("persistent_compilation_cache")``."""
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    path = cache.mkdir("jax-compilation-cache") if cache else tmp_path_factory.mktemp("jax-compilation-cache")
    settings = {"jax_compilation_cache_dir": str(path), "jax_persistent_cache_min_compile_time_secs": 0.0}
    previous = {name: getattr(jax.config, name) for name in settings}
    for name, value in settings.items():
        jax.config.update(name, value)
    yield
    for name, value in previous.items():
        jax.config.update(name, value)
    compilation_cache.reset_cache()
