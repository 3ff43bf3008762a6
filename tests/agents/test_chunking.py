import doctest
import re

import numpy as np
import pytest

import bc_gym.agents.chunking as chunking_module
from bc_gym.agents.chunking import TemporalEnsembler

SEED = 42


def test_doctest():
    assert doctest.testmod(chunking_module).failed == 0


def _offline(chunks: np.ndarray, t: int, coeff: float) -> np.ndarray:
    """ACT's rule by hand: every chunk made at s in [t-k+1, t] predicts step t at row t-s."""
    k = chunks.shape[1]
    preds = [chunks[s, t - s] for s in range(max(0, t - k + 1), t + 1)]  # oldest first
    w = np.exp(-coeff * np.arange(len(preds)))
    return (w[:, None] * np.array(preds)).sum(0) / w.sum()


@pytest.mark.parametrize("coeff", [0.0, 0.01, 0.5, -0.3])
def test_matches_the_offline_weighted_average(coeff):
    rng = np.random.default_rng(SEED)
    k, n, steps = 4, 5, 12
    chunks = rng.dirichlet(np.ones(n), size=(steps, k))  # (steps, k, n) probabilities
    ens = TemporalEnsembler(k, coeff)
    for t in range(steps):
        got = ens.update(chunks[t])
        np.testing.assert_allclose(got, _offline(chunks, t, coeff), rtol=1e-12)
        assert got.sum() == pytest.approx(1.0)


def test_a_hand_computed_step():
    # k=3, coeff=ln 2: weights 1, 1/2, 1/4 (oldest first). Step 2 is predicted by the chunks of
    # steps 0 (row 2), 1 (row 1) and 2 (row 0).
    ens = TemporalEnsembler(3, np.log(2.0))
    ens.update(np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]))
    ens.update(np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]))
    got = ens.update(np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]))
    expected = (
        1.0 * np.array([1, 0]) + 0.5 * np.array([0, 1]) + 0.25 * np.array([0.5, 0.5])
    ) / 1.75
    np.testing.assert_allclose(got, expected)


def test_chunk_size_one_returns_the_prediction():
    ens = TemporalEnsembler(1, 0.01)
    for p in ([0.2, 0.8], [0.9, 0.1]):
        np.testing.assert_array_equal(ens.update(np.array([p])), p)


def test_reset_forgets_the_pending_predictions():
    ens = TemporalEnsembler(2, 0.0)
    ens.update(np.array([[1.0, 0.0], [1.0, 0.0]]))
    ens.reset()
    np.testing.assert_array_equal(ens.update(np.array([[0.0, 1.0], [0.0, 1.0]])), [0.0, 1.0])


def test_errors():
    with pytest.raises(ValueError, match=re.escape("chunk_size must be an integer >= 1")):
        TemporalEnsembler(0)
    with pytest.raises(ValueError, match=re.escape("coeff must be a finite number")):
        TemporalEnsembler(2, float("nan"))
    ens = TemporalEnsembler(2)
    with pytest.raises(ValueError, match=re.escape("chunk_probs must have shape (2, n_actions)")):
        ens.update(np.ones((3, 4)))
    ens.update(np.ones((2, 4)) / 4)
    with pytest.raises(ValueError, match=re.escape("chunk_probs has 5 actions")):
        ens.update(np.ones((2, 5)) / 5)
