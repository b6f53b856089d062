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


def unit_columns(rng, n, m):
    X = rng.standard_normal((n, m))
    return X / np.linalg.norm(X, axis=0)


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Run with one BLAS thread: the results do not depend on it, and on a shared, oversubscribed
    machine multithreaded OpenBLAS makes these small GEMMs up to ~75x slower (spinning threads)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield
