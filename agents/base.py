"""The Agent interface, the agent registry and checkpoints (safetensors + ``config.json``).

An agent maps the observation the env gives it (one frame ``(H, W, C)``, or the frame stack
``(n, H, W, C)`` oldest..newest that :class:`bc_gym.wrappers.TimedFrameStack` builds with the
agent's ``n_stack`` and ``spacing_s``) to an action index. As in Stable-Baselines3, subclasses
implement one abstract method, :meth:`Agent._act`; the public :meth:`Agent.act` checks and
converts the observation.

A checkpoint is a folder holding ``model.safetensors`` (tensors only) and ``config.json``
(``bc_gym_version``, ``agent``, ``action_map``, ``obs_shape``, ``n_stack``, ``spacing_s`` and the
agent's own config). Loading never unpickles anything.

Example:
    >>> import numpy as np
    >>> from bc_gym.actions import HIGHWAY_ACTIONS
    >>> from bc_gym.agents import make_agent
    >>> agent = make_agent("random", action_map=HIGHWAY_ACTIONS, obs_shape=(64, 64, 3), seed=0)
    >>> 0 <= agent.act(np.zeros((64, 64, 3), np.uint8)) < 9
    True
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bc_gym.actions import ActionMap
from bc_gym.errors import CheckpointError, UnknownAgent

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CHECKPOINT_VERSION = 1

AGENTS: dict[str, type[Agent]] = {}
# Agents that live in their own module, imported on first use (torch, imitation are heavy).
_LAZY = {
    "latent-gpt": "bc_gym.agents.latent_gpt",
    "cnn-bc": "bc_gym.agents.cnn_bc",
    "imitation-bc": "bc_gym.agents.imitation_bc",
    "random": "bc_gym.agents.simple",
    "majority": "bc_gym.agents.simple",
}


def register_agent(name: str):
    """Class decorator: register an :class:`Agent` subclass under ``name``."""

    def deco(cls: type[Agent]) -> type[Agent]:
        cls.name = name
        AGENTS[name] = cls
        return cls

    return deco


def agent_class(name: str) -> type[Agent]:
    """The agent class registered under ``name`` (imports its module on first use)."""
    if name not in AGENTS and name in _LAZY:
        import importlib

        importlib.import_module(_LAZY[name])
    if name not in AGENTS:
        known = sorted(set(AGENTS) | set(_LAZY))
        hint = difflib.get_close_matches(name, known, n=1)
        extra = f" Did you mean: {hint[0]!r}?" if hint else ""
        raise UnknownAgent(f"no agent named {name!r}; expected one of {known}.{extra}")
    return AGENTS[name]


def agent_names() -> list[str]:
    """Names of all agents (registered or importable)."""
    return sorted(set(AGENTS) | set(_LAZY))


def make_agent(name: str, **kwargs: Any) -> Agent:
    """Build an untrained agent by name; ``kwargs`` go to its constructor."""
    return agent_class(name)(**kwargs)


def load_agent(path: str | Path, device: str = "cpu") -> Agent:
    """Load any agent from a checkpoint folder (``config.json`` names its class)."""
    config = read_config(path)
    return agent_class(config["agent"]).load(path, device=device)


def read_config(path: str | Path) -> dict[str, Any]:
    """Read and check a checkpoint's ``config.json``.

    Raises:
        CheckpointError: the folder or file is missing, not JSON, or lacks required keys.
    """
    path = Path(path)
    file = path / CONFIG_FILE
    if not file.is_file():
        raise CheckpointError(
            f"{path} is not an agent checkpoint: {CONFIG_FILE} is missing. "
            "Pass the folder written by `bc-gym train ... -o RUN` (or Agent.save)."
        )
    try:
        config = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(
            f"{file} is corrupt (not JSON: {exc}); retrain or restore it."
        ) from exc
    required = ("bc_gym_version", "agent", "action_map", "obs_shape", "n_stack", "spacing_s")
    missing = [k for k in required if not isinstance(config, dict) or k not in config]
    if missing:
        raise CheckpointError(f"{file} lacks keys {missing}; it was not written by Agent.save.")
    if config.get("checkpoint_version", CHECKPOINT_VERSION) != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{file} has checkpoint_version {config.get('checkpoint_version')!r}; this bc-gym "
            f"reads version {CHECKPOINT_VERSION}. Retrain with this version."
        )
    return config


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A dataclass config as a JSON-ready dict (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def config_from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a dataclass config; unknown keys are a :class:`CheckpointError`."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise CheckpointError(
            f"config keys {unknown} are unknown to {cls.__name__} (expected a subset of "
            f"{sorted(names)}); the checkpoint comes from another agent or version."
        )
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            v = data[f.name]
            kwargs[f.name] = tuple(v) if isinstance(v, list) else v
    return cls(**kwargs)


class Agent(ABC):
    """A policy from observations to action indices.

    Args:
        action_map: the action vocabulary (``env.unwrapped.action_map`` or ``ds.action_map``).
        obs_shape: ``(H, W, C)`` of one frame.
        n_stack: frames per observation (1: a single frame; ``play`` stacks ``n_stack`` frames
            spaced ``spacing_s`` seconds with ``TimedFrameStack`` when > 1).
        spacing_s: seconds between stacked frames (0 for single-frame agents).

    Attributes:
        name: the registry name (``"latent-gpt"``, ``"cnn-bc"``...).
        recorded_from: where the training data was recorded (``window_title``, ``region``,
            ``fps``, ``frame_shape``: see ``bc_gym.agents.data.recorded_from``), read from and
            saved to ``config.json``; None when unknown. ``play`` captures a window at
            ``frame_shape`` and resizes frames to ``obs_shape`` as training did.
    """

    name: ClassVar[str] = ""

    def __init__(
        self,
        action_map: ActionMap,
        obs_shape: tuple[int, int, int],
        n_stack: int = 1,
        spacing_s: float = 0.0,
    ) -> None:
        if not isinstance(action_map, ActionMap):
            raise TypeError(f"action_map must be an ActionMap, actual value: {action_map!r}")
        if len(obs_shape) != 3 or min(obs_shape) <= 0:
            raise ValueError(f"obs_shape must be (H, W, C) > 0, actual value: {obs_shape!r}")
        if int(n_stack) < 1:
            raise ValueError(f"n_stack must be >= 1, actual value: {n_stack!r}")
        if spacing_s < 0 or (n_stack > 1 and spacing_s <= 0):
            raise ValueError(
                f"spacing_s must be > 0 when n_stack > 1 (>= 0 otherwise), actual value: "
                f"{spacing_s!r}"
            )
        self.action_map = action_map
        self.obs_shape = tuple(int(s) for s in obs_shape)
        self.n_stack = int(n_stack)
        self.spacing_s = float(spacing_s)
        self.recorded_from: dict[str, Any] | None = None

    # The public API
    def reset(self) -> None:  # noqa: B027 (optional hook)
        """Forget per-episode state (call at the start of every episode)."""

    def act(self, observation: np.ndarray) -> int:
        """The action index for an observation as the env gives it.

        Args:
            observation: uint8 ``(H, W, C)`` or ``(n_stack, H, W, C)`` (oldest..newest); a
                single frame is accepted by stacked agents too (it is repeated).

        Returns:
            An action index in ``[0, action_map.n)``.
        """
        obs = np.asarray(observation)
        if obs.ndim == 3:
            obs = obs[None]
        if obs.ndim != 4 or tuple(obs.shape[1:]) != self.obs_shape:
            raise ValueError(
                f"observation has shape {np.shape(observation)}, expected {self.obs_shape} or "
                f"({self.n_stack}, *{self.obs_shape}). Wrap the env with "
                f"TimedFrameStack(env, {self.n_stack}, {self.spacing_s}) and resize frames to "
                f"the agent's size. A VecEnv batch is not supported: call act once per env."
            )
        if obs.dtype != np.uint8:
            raise TypeError(f"observation dtype must be uint8, actual value: {obs.dtype}")
        if len(obs) < self.n_stack:  # pad with the oldest frame (as at an episode start)
            obs = np.concatenate([np.repeat(obs[:1], self.n_stack - len(obs), 0), obs])
        elif len(obs) > self.n_stack:
            obs = obs[-self.n_stack :]
        return int(self._act(np.ascontiguousarray(obs)))

    @abstractmethod
    def _act(self, obs: np.ndarray) -> int:
        """Choose an action for a checked uint8 ``(n_stack, H, W, C)`` observation."""

    # Checkpoints
    def config_dict(self) -> dict[str, Any]:
        """The agent's own hyper-parameters (JSON-ready); stored under ``"agent_config"``."""
        return {}

    def tensors(self) -> dict[str, Any]:
        """Named torch tensors to save (weights and buffers)."""
        return {}

    def load_tensors(self, tensors: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Restore what :meth:`tensors` returned (less any :attr:`optional_tensors`)."""

    optional_tensors: tuple[str, ...] = ()
    """Tensor names that older checkpoints may lack (added later with a neutral default, which
    :meth:`load_tensors` fills in)."""

    def save(self, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``model.safetensors`` and ``config.json`` into the folder ``path``."""
        import bc_gym

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.tensors().items()}
        if tensors:
            from safetensors.torch import save_file

            save_file(tensors, str(path / WEIGHTS_FILE))
        config = {
            "bc_gym_version": bc_gym.__version__,
            "checkpoint_version": CHECKPOINT_VERSION,
            "agent": self.name,
            "action_map": self.action_map.to_dict(),
            "obs_shape": list(self.obs_shape),
            "n_stack": self.n_stack,
            "spacing_s": self.spacing_s,
            "agent_config": self.config_dict(),
            **({"recorded_from": self.recorded_from} if self.recorded_from else {}),
            **(extra or {}),
        }
        (path / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> Agent:
        """Load an agent of this class from a folder written by :meth:`save`.

        Raises:
            CheckpointError: missing/corrupt files, another agent's checkpoint, or weights
                that do not match the config.
        """
        path = Path(path)
        config = read_config(path)
        if config["agent"] != cls.name:
            raise CheckpointError(
                f"{path} holds a {config['agent']!r} agent, not {cls.name!r}; load it with "
                f"bc_gym.agents.load_agent(path)."
            )
        try:
            action_map = ActionMap.from_dict(config["action_map"])
        except ValueError as exc:
            raise CheckpointError(f"{path / CONFIG_FILE}: bad action_map ({exc})") from exc
        agent = cls._from_config(
            action_map=action_map,
            obs_shape=tuple(config["obs_shape"]),
            n_stack=int(config["n_stack"]),
            spacing_s=float(config["spacing_s"]),
            agent_config=config.get("agent_config", {}),
            device=device,
        )
        expected = agent.tensors()
        if expected:
            agent.load_tensors(read_weights(path, expected, agent.optional_tensors))
        if isinstance(config.get("recorded_from"), dict):
            agent.recorded_from = config["recorded_from"]
        return agent

    @classmethod
    def _from_config(
        cls,
        *,
        action_map: ActionMap,
        obs_shape: tuple[int, int, int],
        n_stack: int,
        spacing_s: float,
        agent_config: dict[str, Any],
        device: str,
    ) -> Agent:
        """Build an untrained agent from a stored config (subclasses with configs override)."""
        return cls(action_map=action_map, obs_shape=obs_shape, n_stack=n_stack, spacing_s=spacing_s)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, obs_shape={self.obs_shape}, "
            f"n_stack={self.n_stack}, spacing_s={self.spacing_s}, actions={self.action_map.n})"
        )


def decode_keys(probs: np.ndarray, action_map: ActionMap) -> int:
    """Pick the action by key: each key's marginal probability decides whether it is held.

    The plain arg-max over key combinations splits a key's probability over every combination
    that holds it (``down``, ``down+left``, ``down+right``) and so under-predicts it. Here, for
    each pair of opposite keys, the most probable of {neither, a, b} wins; any other key is
    held when its marginal exceeds 0.5.

    Args:
        probs: ``(n_actions,)`` probabilities of the combinations.
        action_map: the action vocabulary.

    Returns:
        The action index of the chosen key set.
    """
    probs = np.asarray(probs, dtype=np.float64)
    marginal = {k: 0.0 for k in action_map.keys}
    for p, combo in zip(probs, action_map.combos, strict=False):
        for k in combo:
            marginal[k] += p
    held: set[str] = set()
    paired: set[str] = set()
    for a, b in action_map.opposites:
        paired |= {a, b}
        choice = max((1.0 - marginal[a] - marginal[b], ""), (marginal[a], a), (marginal[b], b))
        if choice[1]:
            held.add(choice[1])
    held |= {k for k in action_map.keys if k not in paired and marginal[k] > 0.5}
    return action_map.from_keys(held)


def read_weights(
    path: str | Path, expected: dict[str, Any], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Read ``model.safetensors`` and check names and shapes against ``expected`` tensors.

    Names in ``optional`` may be missing (an older checkpoint); the caller fills them in.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    file = Path(path) / WEIGHTS_FILE
    if not file.is_file():
        raise CheckpointError(f"{file} is missing; the checkpoint is incomplete. Retrain it.")
    try:
        tensors = load_file(str(file))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{file} is corrupt ({exc}); retrain or restore it.") from exc
    missing = sorted(set(expected) - set(tensors) - set(optional))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{file} does not match the config: missing {missing[:5]}, unexpected "
            f"{unexpected[:5]}. The weights come from another agent or config."
        )
    for k, v in expected.items():
        if k in tensors and tuple(tensors[k].shape) != tuple(v.shape):
            raise CheckpointError(
                f"{file}: tensor {k!r} has shape {tuple(tensors[k].shape)}, the config expects "
                f"{tuple(v.shape)}. The weights and config.json do not belong together."
            )
    return tensors
