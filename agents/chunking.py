"""Action chunking: combine overlapping predictions of the next ``k`` actions.

A chunked policy predicts, at every step ``t``, a distribution over the actions of steps
``t .. t+k-1``. Step ``t`` is then predicted by the ``k`` chunks made at ``t-k+1 .. t``;
:class:`TemporalEnsembler` averages them as ACT does (Zhao et al. 2023, Algorithm 2; LeRobot's
``ACTTemporalEnsembler``). Actions here are discrete, so what is averaged is each step's vector
of action probabilities; the caller picks the action from the average.
"""

from __future__ import annotations

import numpy as np


class TemporalEnsembler:
    """Exponentially weighted average of the overlapping chunk predictions of the current step.

    Of the predictions of one step, the ``i``-th oldest gets the weight ``w_i = exp(-coeff * i)``
    (``i = 0``: the oldest, made ``k-1`` steps ago), normalised to sum to 1:

    - ``coeff = 0`` weighs every prediction equally;
    - ``coeff > 0`` weighs older predictions more;
    - ``coeff < 0`` weighs newer predictions more.

    ACT's default is ``0.01`` (older predictions slightly favoured; LeRobot pull request #319
    measured that favouring new predictions strongly loses the benefit of chunking).

    The average is kept online (as LeRobot does): for each future step, the running weighted
    mean and the number of predictions seen, so each :meth:`update` is ``O(k * n_actions)``.

    Args:
        chunk_size: ``k``, the steps each prediction covers (1: no ensembling, the prediction
            itself is returned).
        coeff: the exponent's coefficient above.

    Example:
        >>> import numpy as np
        >>> ens = TemporalEnsembler(chunk_size=2, coeff=0.0)
        >>> ens.update(np.array([[1.0, 0.0], [0.6, 0.4]]))  # step 0: one prediction so far
        array([1., 0.])
        >>> ens.update(np.array([[0.0, 1.0], [0.0, 1.0]]))  # step 1: (0.6, 0.4) and (0, 1)
        array([0.3, 0.7])
        >>> ens.reset()  # a new episode: forget every pending prediction
        >>> ens.update(np.array([[0.0, 1.0], [1.0, 0.0]]))
        array([0., 1.])
    """

    def __init__(self, chunk_size: int, coeff: float = 0.01) -> None:
        if int(chunk_size) != chunk_size or chunk_size < 1:
            raise ValueError(f"chunk_size must be an integer >= 1, actual value: {chunk_size!r}")
        if not np.isfinite(coeff):
            raise ValueError(f"coeff must be a finite number, actual value: {coeff!r}")
        self.chunk_size = int(chunk_size)
        self.coeff = float(coeff)
        self.weights = np.exp(-self.coeff * np.arange(self.chunk_size))  # (k,) w_i, oldest first
        self.weights_cumsum = np.cumsum(self.weights)  # (k,)
        self.reset()

    def reset(self) -> None:
        """Forget the pending predictions (call at the start of every episode)."""
        self._avg: np.ndarray | None = None  # (k-1, n): running mean for steps t+1 .. t+k-1
        self._count = np.zeros(0, np.int64)  # (k-1,): predictions averaged into each row

    def update(self, chunk_probs: np.ndarray) -> np.ndarray:
        """Add the chunk predicted at this step; return the ensembled probabilities of this step.

        Args:
            chunk_probs: ``(k, n_actions)`` action probabilities of steps ``t .. t+k-1``.

        Returns:
            ``(n_actions,)`` float64: the weighted mean of every prediction made for step ``t``.
        """
        chunk = np.asarray(chunk_probs, dtype=np.float64)
        if chunk.ndim != 2 or chunk.shape[0] != self.chunk_size:
            raise ValueError(
                f"chunk_probs must have shape ({self.chunk_size}, n_actions), actual shape: "
                f"{chunk.shape}; pass one chunk (not a batch) per call"
            )
        if self._avg is None:
            avg, count = chunk.copy(), np.ones(self.chunk_size, np.int64)
        else:
            if self._avg.shape[1] != chunk.shape[1]:
                raise ValueError(
                    f"chunk_probs has {chunk.shape[1]} actions, the previous chunks had "
                    f"{self._avg.shape[1]}; call reset() before switching policies"
                )
            c = self._count  # rows t .. t+k-2 hold c predictions, the new one is the (c+1)-th
            mean = self._avg * self.weights_cumsum[c - 1, None] + chunk[:-1] * self.weights[c, None]
            mean /= self.weights_cumsum[c, None]
            avg = np.concatenate([mean, chunk[-1:]])  # step t+k-1: its first prediction
            count = np.concatenate([c + 1, [1]])
        self._avg, self._count = avg[1:], count[1:]
        return avg[0]
