"""Ready-made datasets, generated headless and cached (used by tests, benchmarks and examples).

Example:
    >>> from bc_gym.datasets import load_dataset
    >>> from bc_gym.datasets.recipes import highway_expert_dataset
    >>> path = highway_expert_dataset(n_episodes=2, noise=0.05, seed=0, max_steps=30)
    >>> ds = load_dataset(path)
    >>> ds.metadata["source"], ds.metadata["noise"], len(ds)
    ('game', 0.05, 2)
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from . import spec
from .writer import DatasetWriter, EpisodeData

# Bump when the generated data changes. 2: the expert sees only the screen. 3: the expert keeps
# no lane plan (a function of the screen), and labels are its own actions under noise (DART).
RECIPE_VERSION = 3
RUNNER_RECIPE_VERSION = 1  # bump when runner_expert_dataset's data changes
_EXPERT_RECIPES = {  # recipe -> (game id, version, module of the game's ScriptedExpert)
    "highway_expert": ("bc_gym/HighwayRacer-v0", RECIPE_VERSION, "bc_gym.games.highway"),
    "runner_expert": ("bc_gym/Runner-v0", RUNNER_RECIPE_VERSION, "bc_gym.games.runner"),
}


def default_root() -> Path:
    """Cache folder: ``$BC_GYM_CACHE/datasets`` or ``~/.cache/bc-gym/datasets``."""
    base = os.environ.get("BC_GYM_CACHE")
    return Path(base) / "datasets" if base else Path.home() / ".cache" / "bc-gym" / "datasets"


def key_events_from_held(held: np.ndarray, times: np.ndarray, keys: list[str]) -> np.ndarray:
    """The key log implied by a held-key table: one event per key change, at its tick time."""
    events = []
    prev = np.zeros(held.shape[1], bool)
    for i, row in enumerate(held):
        for k in np.flatnonzero(row != prev):
            events.append((float(times[i]), keys[k], bool(row[k])))
        prev = row
    for k in np.flatnonzero(prev):  # release everything at the end
        events.append((float(times[-1]), keys[k], False))
    return spec.make_key_events(events)


def highway_expert_dataset(
    n_episodes: int = 20,
    noise: float = 0.05,
    seed: int = 0,
    obs_size: tuple[int, int] = (64, 64),
    root: str | Path | None = None,
    *,
    max_steps: int = 1000,
    grayscale: bool = False,
    labels: str = "expert",
) -> Path:
    """HighwayRacer driven by :class:`~bc_gym.games.highway.ScriptedExpert`, cached on disk.

    Episode ``i`` resets the game with seed ``seed * 100_003 + i``; timestamps are the game
    clock (``info["t"]``). The cache key covers every argument, so equal calls share one folder.

    Args:
        n_episodes: number of episodes.
        noise: the expert's noise (random actions and drifts; see ``ScriptedExpert``).
        seed: seeds the games and the noise.
        obs_size: ``(height, width)`` of the observations.
        root: cache folder (default: :func:`default_root`).
        max_steps: truncate episodes after this many steps.
        grayscale: one channel instead of RGB.
        labels: ``"expert"`` (default): ``actions`` are what the expert itself chose in each
            state, also on the steps where the noise pressed something else (DART, Laskey et
            al. 2017: the noise visits the states a cloned policy drifts into, and the labels
            show the way back); ``held_keys`` and ``key_events`` always record the keys the game
            received. ``"executed"``: ``actions`` are the keys the game received, as in a
            recording of a person.

    Returns:
        The dataset folder.
    """
    return _expert_dataset(
        "highway_expert", n_episodes, noise, seed, obs_size, root, max_steps, grayscale, labels
    )


def runner_expert_dataset(
    n_episodes: int = 20,
    noise: float = 0.02,
    seed: int = 0,
    obs_size: tuple[int, int] = (75, 300),
    root: str | Path | None = None,
    *,
    max_steps: int = 1000,
    grayscale: bool = False,
    labels: str = "expert",
    lead: float = 0.0,
) -> Path:
    """Runner (``bc_gym/Runner-v0``) played by its :class:`~bc_gym.games.runner.ScriptedExpert`.

    Built and cached as :func:`highway_expert_dataset` is: episode ``i`` resets the game with
    seed ``seed * 100_003 + i``, timestamps are the game clock, the cache key covers every
    argument, and ``labels`` has the same meaning (``"expert"``: the expert's own choice in
    each state, also where the noise pressed something else).

    Args:
        n_episodes: number of episodes.
        noise: fraction of steps on which the expert presses a random key instead.
        seed: seeds the games and the noise.
        obs_size: ``(height, width)`` of the observations; the native frame (the page's
            canvas) is ``(150, 600)``, the default halves it.
        root: cache folder (default: :func:`default_root`).
        max_steps: truncate episodes after this many steps.
        grayscale: one channel instead of RGB.
        labels: ``"expert"`` (default) or ``"executed"``.
        lead: the expert acts this many steps early (``ScriptedExpert(lead=...)``, as the
            browser autopilot does for its screen latency); 0: on time.

    Returns:
        The dataset folder.

    Example:
        >>> from bc_gym.datasets import load_dataset
        >>> path = runner_expert_dataset(n_episodes=2, seed=0, max_steps=30)
        >>> load_dataset(path).metadata["game_id"]
        'bc_gym/Runner-v0'
    """
    return _expert_dataset(
        "runner_expert", n_episodes, noise, seed, obs_size, root, max_steps, grayscale, labels,
        expert_options={"lead": float(lead)} if lead else None,
    )  # fmt: skip


def _expert_dataset(
    recipe: str,
    n_episodes: int,
    noise: float,
    seed: int,
    obs_size: tuple[int, int],
    root: str | Path | None,
    max_steps: int,
    grayscale: bool,
    labels: str,
    expert_options: dict[str, Any] | None = None,
) -> Path:
    """Build (or find in the cache) the dataset of ``recipe``, a key of ``_EXPERT_RECIPES``.

    The game's ``ScriptedExpert(noise=noise, seed=seed, **expert_options)`` plays
    ``n_episodes`` games; the folder
    is ``root/RECIPE-DIGEST``, DIGEST a hash of every argument and the recipe's version, and an
    existing one is returned as it is. Episode ``i`` resets the game with seed
    ``seed * 100_003 + i``; timestamps are the game clock (``info["t"]``); ``labels`` says
    whether ``actions`` are the expert's own choice (``"expert"``) or the keys the game
    received (``"executed"``).
    """
    import gymnasium as gym

    import bc_gym  # noqa: F401  (registers the envs)

    game_id, version, game_module = _EXPERT_RECIPES[recipe]
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, actual value: {n_episodes!r}")
    if labels not in ("expert", "executed"):
        raise ValueError(f"labels must be 'expert' or 'executed', actual value: {labels!r}")
    args = {
        "recipe": recipe,
        "v": version,
        "n_episodes": int(n_episodes),
        "noise": float(noise),
        "seed": int(seed),
        "obs_size": [int(obs_size[0]), int(obs_size[1])],
        "max_steps": int(max_steps),
        "grayscale": bool(grayscale),
        "labels": labels,
    }
    if expert_options:  # only when given: the digests of the plain recipes stay as they were
        args["expert"] = dict(sorted(expert_options.items()))
    digest = hashlib.sha1(json.dumps(args, sort_keys=True).encode()).hexdigest()[:12]
    root = Path(root) if root is not None else default_root()
    out = root / f"{recipe.replace('_', '-')}-{digest}"
    if (out / spec.METADATA_FILE).is_file():
        return out
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=root)) / "ds"
    env = gym.make(game_id, obs_size=args["obs_size"], grayscale=grayscale, max_steps=max_steps)
    amap = env.unwrapped.action_map
    expert = importlib.import_module(game_module).ScriptedExpert(
        noise=noise, seed=seed, **(expert_options or {})
    )
    try:
        with DatasetWriter(
            tmp,
            action_map=amap,
            fps=float(env.metadata["render_fps"]),
            obs_shape=env.observation_space.shape,
            source="game",
            game_id=game_id,
            recipe=args,
            noise=float(noise),
            seed=int(seed),
            labels=labels,
        ) as w:
            for i in range(n_episodes):
                obs, info = env.reset(seed=seed * 100_003 + i)
                expert.reset()
                frames, times = [obs], [info["t"]]
                acts, pressed, rews, terms, truncs = [], [], [], [], []
                while True:
                    a = expert(env)
                    obs, r, te, tr, info = env.step(a)
                    frames.append(obs)
                    times.append(info["t"])
                    acts.append(expert.intended if labels == "expert" else a)
                    pressed.append(a)
                    rews.append(r)
                    terms.append(te)
                    truncs.append(tr)
                    if te or tr:
                        break
                held = np.array([amap.to_multibinary(a) for a in pressed], bool)
                ts = np.asarray(times, np.float64)
                w.add_episode(
                    EpisodeData(
                        observations=np.stack(frames),
                        actions=np.asarray(acts, np.int64),
                        rewards=np.asarray(rews, np.float32),
                        terminations=np.asarray(terms),
                        truncations=np.asarray(truncs),
                        timestamps=ts,
                        held_keys=held,
                        key_events=key_events_from_held(held, ts[:-1], list(amap.keys)),
                    )
                )
        try:
            os.replace(tmp, out)  # atomic: concurrent builders never see a half-written dataset
        except OSError:
            if not (out / spec.METADATA_FILE).is_file():  # another builder did not win either
                raise
    finally:
        env.close()
        shutil.rmtree(tmp.parent, ignore_errors=True)
    return out
