import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def unit_columns(rng, n, m):
    X = rng.standard_normal((n, m))
    return X / np.linalg.norm(X, axis=0)
