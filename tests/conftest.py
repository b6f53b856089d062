import numpy as np
import pytest
from hypothesis import settings

# CI must be deterministic: hypothesis draws the same examples on every run (no example database)
settings.register_profile("qrcheck", derandomize=True, database=None, deadline=None)
settings.load_profile("qrcheck")
from threadpoolctl import threadpool_limits


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def foreign_arrays(tmp_path):
    """Arrays qrcheck did not sample, saved as .npy files: ``make(seed, n, S, m, z0=..., y=False)``
    returns (arrays, paths). X has unit columns from another generator; z0 is Gaussian or
    Rademacher; y ~ N(0, S) when asked for."""

    def make(seed, n, S, m, z0="gaussian", y=False):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((n, m))
        X /= np.linalg.norm(X, axis=0)
        arr = {"X": X, "W0": rng.standard_normal((S, n)),
               "z0": rng.standard_normal(S) if z0 == "gaussian" else rng.choice([-1.0, 1.0], S)}
        if y:
            arr["y"] = rng.normal(0, np.sqrt(S), m)
        paths = {}
        for k, a in arr.items():
            paths[k] = tmp_path / f"{k}.npy"
            np.save(paths[k], a)
        return arr, paths

    return make


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Run with one BLAS thread: the results do not depend on it, and on a shared, oversubscribed
    machine multithreaded OpenBLAS makes these small GEMMs up to ~75x slower (spinning threads)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield
