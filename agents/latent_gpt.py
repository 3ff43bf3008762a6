"""The latent GPT policy: a VAE latent per frame, a small causal transformer over time.

Read top to bottom, in nanoGPT's order: the transformer parts (``CausalSelfAttention``,
``MLP``, ``Block``), ``GPTConfig``, ``GPT``; then the agent (``LatentGPTAgent``, what
``bc-gym play`` runs) and its training (``train``: VAE, latent cache, GPT).

Token ``k`` of a context of ``T`` steps spaced ``Δ`` seconds is
``proj(latent of frame t-(T-1-k)Δ) + embed(action held just before that frame) + pos[k]``;
the output at every position predicts the action of its frame (cross-entropy with class
weights, as most frames are "up" or "noop"). By default the action embedding is always "none"
(``prev_action_dropout=1``): fed its own previous action, a cloned GPT learns to copy it and
collapses onto one action closed-loop. An optional head predicts the next latent in the
context (a small world-model loss). At play time each new frame is encoded once and its latent
cached by the frame's content, so ``act()`` costs one encoder pass and one transformer pass.

Options of :class:`LatentGPTConfig`, off by default: ``encoder_train="finetune"`` trains the
VAE's encoder with the action loss (end to end, on raw frames; optionally with the VAE loss,
``recon_weight``), ``augment_pad`` shifts training frames by a few pixels (RAD / DrQ), and
``chunk`` predicts the next actions too, which ``act()`` combines by temporal ensembling (ACT).

Example:
    >>> import torch
    >>> from bc_gym.agents.latent_gpt import GPT, GPTConfig
    >>> gpt = GPT(GPTConfig(latent_dim=8, n_actions=3, block_size=4, n_embd=32, n_head=2))
    >>> logits, loss = gpt(torch.zeros(2, 4, 8), torch.zeros(2, 4, dtype=torch.long))
    >>> tuple(logits.shape), loss
    ((2, 4, 3), None)
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bc_gym.actions import ActionMap
from bc_gym.agents.base import Agent, config_from_dict, config_to_dict, register_agent
from bc_gym.agents.training import TrainConfig
from bc_gym.agents.vae import VAE, VAEConfig, chw
from bc_gym.errors import ConfigError


# The transformer, as in nanoGPT
class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position ``k`` sees positions ``<= k``."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)  # q, k, v for all heads
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, C) -> (B, T, C)``."""
        B, T, C = x.size()  # batch, sequence length, embedding size (n_embd)
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
        )  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble all head outputs
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Position-wise feed-forward layer (4x wide, GELU)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, C) -> (B, T, C)``."""
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm transformer block: attention then MLP, each with a residual connection."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, C) -> (B, T, C)``."""
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


@dataclass
class GPTConfig:
    """Shape of the transformer."""

    latent_dim: int = 64
    """Size of a frame latent (the VAE's ``latent_dim``)."""
    n_actions: int = 9
    """Number of actions; the previous-action vocabulary has one more entry, "none"."""
    block_size: int = 8
    """Context length ``T`` (frames spaced ``spacing_s``)."""
    n_layer: int = 3
    """Transformer blocks."""
    n_head: int = 4
    """Attention heads."""
    n_embd: int = 128
    """Embedding width."""
    dropout: float = 0.1
    """Dropout on embeddings, attention and MLP outputs."""
    aux_next_latent: float = 0.0
    """Weight of the next-latent prediction loss (0: no world-model head)."""
    chunk: int = 1
    """Actions predicted at each position: the frame's own and the next ``chunk - 1`` steps'."""


class GPT(nn.Module):
    """Causal transformer from (latent, previous action) tokens to action logits."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.z_proj = nn.Linear(config.latent_dim, config.n_embd)
        self.a_emb = nn.Embedding(config.n_actions + 1, config.n_embd)  # last index: "none"
        self.pos_emb = nn.Embedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.n_actions * config.chunk)
        self.next_head = (  # the world-model head exists only when its loss is used
            nn.Linear(config.n_embd, config.latent_dim) if config.aux_next_latent > 0 else None
        )
        # Latent normalisation and class weights, set from the training data.
        self.register_buffer("z_mean", torch.zeros(config.latent_dim))
        self.register_buffer("z_std", torch.ones(config.latent_dim))
        self.register_buffer("class_weight", torch.ones(config.n_actions))
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():  # scaled init of residual projections (GPT-2)
            if pn.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(
        self,
        z: torch.Tensor,
        prev: torch.Tensor,
        targets: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for every position, and the loss when ``targets`` are given.

        Args:
            z: frame latents ``(B, T, latent_dim)`` (raw VAE means; normalised here).
            prev: previous actions ``(B, T)`` long, ``n_actions`` meaning "none".
            targets: actions ``(B, T)`` long, or ``(B, T, chunk)`` when ``chunk > 1`` (the
                frame's action, then the next steps'); -1 marks a missing label (past an
                episode's end), left out of the loss. None: no loss.

        Returns:
            ``(logits, loss or None)``: logits ``(B, T, n_actions)``, or
            ``(B, T, chunk, n_actions)`` when ``chunk > 1``.
        """
        B, T, _ = z.size()
        assert T <= self.config.block_size, f"sequence of {T} > block_size"
        zn = (z - self.z_mean) / self.z_std  # (B, T, z)
        pos = torch.arange(T, device=z.device)  # (T,)
        x = self.z_proj(zn) + self.a_emb(prev) + self.pos_emb(pos)  # (B, T, n_embd)
        x = self.drop(x)
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)  # (B, T, n_embd)
        logits = self.head(x)  # (B, T, chunk * n_actions)
        if self.config.chunk > 1:
            logits = logits.view(B, T, self.config.chunk, -1)  # (B, T, chunk, n_actions)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)),
            targets.reshape(-1),
            weight=self.class_weight,
            ignore_index=-1,
        )
        if self.next_head is not None and T > 1:
            pred = self.next_head(x[:, :-1])  # (B, T-1, z): the next frame's latent
            loss = loss + self.config.aux_next_latent * F.mse_loss(pred, zn[:, 1:].detach())
        return logits, loss


# The agent
@dataclass
class LatentGPTConfig:
    """Hyper-parameters of the latent GPT agent (VAE, context and transformer)."""

    context: int = 8
    """Context length ``T``: frames (and previous actions) the transformer sees."""
    spacing_s: float = 1 / 30
    """Seconds ``Δ`` between context frames (``play`` stacks frames this far apart). At 2/30 s
    the 12-px lane dashes move ~10 px per step at top speed, which looks like -2 px (aliasing):
    consecutive frames keep the speed visible (held-out macro-F1 0.44 vs 0.40)."""
    latent_dim: int = 128
    """VAE latent size. 128 with ``beta=0.1`` and ``vae_action_weight=20`` replaced 64 / 0.5 / 0:
    together they keep more of what the expert reacts to (higher linear probe) and of the cars
    (lower foreground error); the README's "Agents" section measures the resulting agent."""
    vae_channels: tuple[int, ...] = (32, 64, 64, 128)
    """Channels of the VAE's four conv layers."""
    beta: float = 0.1
    """KL weight of the VAE (see ``latent_dim``)."""
    recon: str = "fg"
    """VAE reconstruction loss: ``mse``, ``fg`` (foreground-weighted) or ``edge``."""
    fg_weight: float = 10.0
    """Extra weight of foreground pixels in the VAE loss (``recon="fg"``)."""
    vae_epochs: int = 6
    """VAE epochs."""
    vae_steps_per_epoch: int = 300
    """VAE optimizer steps per epoch (batches drawn by the cluster-balanced sampler)."""
    vae_batch_size: int = 64
    """VAE mini-batch size."""
    vae_lr: float = 1e-3
    """VAE learning rate."""
    vae_action_weight: float = 20.0
    """VAE training only: weight of a linear head predicting the frame's action from the latent
    mean (cross-entropy, next to the per-frame reconstruction loss summed over pixels), so that
    the latent keeps what the demonstrator reacted to (see ``latent_dim``). 0: a plain VAE. The
    head is not kept."""
    vae_budget_fraction: float = 0.7
    """Share of ``TrainConfig.time_budget_s`` given to the VAE (the rest goes to the GPT)."""
    n_layer: int = 3
    """Transformer blocks."""
    n_head: int = 4
    """Attention heads."""
    n_embd: int = 128
    """Transformer width."""
    dropout: float = 0.1
    """Transformer dropout."""
    aux_next_latent: float = 0.0
    """Weight of the next-latent (world-model) loss; 0 turns the head off."""
    prev_action_dropout: float = 1.0
    """Training: replace each previous-action token by "none" with this probability. The
    default 1.0 drops them all (and ``act()`` then feeds "none" too): fed its own previous
    action, the GPT learns to copy it and collapses closed-loop onto one action (held-out
    accuracy replayed through ``act()`` 0.013 with the token vs 0.583 without; see
    ``benchmarks/results/bench-latent-gpt-no-prev-action.md``)."""
    sample_latents: bool = True
    """Training only: feed latents sampled from the VAE posterior (augmentation), not means."""
    class_weight_power: float = 0.5
    """Cross-entropy class weights are ``frequency ** -power`` (0: unweighted)."""
    mirror: str = ""
    """Training only: also learn from the frames mirrored left-right with these two keys
    exchanged, ``"left:right"`` (for screens that are left-right symmetric, like a road seen
    from above; it doubles the situations 20 demonstrations show). Empty: off."""
    vae_path: str = ""
    """Reuse the VAE of this run folder (``vae/`` inside a latent-gpt run) instead of training."""
    encoder_train: str = "frozen"
    """How the GPT stage treats the frame encoder. ``frozen``: the VAE is fixed and every
    frame's latent is computed once (cached), so the action loss never shapes what the encoder
    keeps. ``finetune``: end to end; each training step encodes the raw frames of its windows
    with the VAE's encoder (the trained VAE is the initialisation) and the action loss trains
    encoder and GPT together (``act()`` is unchanged: one new frame encoded per step). It costs
    one encoder pass per frame of every window: see ``finetune_batch_size``."""
    finetune_batch_size: int = 32
    """``finetune`` only: windows per training step (each holds ``context`` frames to encode);
    0: ``TrainConfig.batch_size``. The ``frozen`` GPT stage uses ``TrainConfig.batch_size``."""
    finetune_grad_frames: int = 0
    """``finetune`` only: the newest this many frames of each window train the encoder; the
    older ones are encoded without gradients (about a third of their cost). 0: all frames."""
    recon_weight: float = 0.0
    """``finetune`` only: weight of the VAE loss (reconstruction + ``beta`` x KL) of the newest
    frame of each window, added to the action loss so that the encoder keeps the whole frame. 0:
    the action loss alone (the decoder is then left as the VAE stage trained it). The VAE loss
    is summed over pixels (~10^2-10^3 per frame against ~1 for the action cross-entropy): the
    balance of the VAE stage (``vae_action_weight=20`` against a weight of 1) is 0.05."""
    augment_pad: int = 0
    """Random shifts of up to this many pixels (RAD / DrQ; border pixels repeated) of the
    training frames: of every VAE batch, and in ``finetune`` mode of every GPT window (one
    shift for all frames of a window, so the motion between them is kept). The ``frozen`` GPT
    stage learns from cached latents of unshifted frames. 0: off."""
    chunk: int = 1
    """Action chunking (ACT): every position predicts the actions of its own step and of the
    next ``chunk - 1`` steps (ticks of the recording clock); ``act()`` combines the overlapping
    predictions for the current step with a temporal ensemble (``ensemble_coeff``). 1: off."""
    ensemble_coeff: float = 0.01
    """Temporal ensembling weight ``exp(-coeff * i)``, ``i = 0`` for the oldest prediction of a
    step (ACT's convention; 0: a plain mean; larger: the older predictions count more). Used
    when ``chunk > 1``."""

    def __post_init__(self) -> None:
        if self.encoder_train not in ("frozen", "finetune"):
            raise ConfigError(
                f"encoder_train must be 'frozen' or 'finetune', actual value: "
                f"{self.encoder_train!r}"
            )
        for name in ("finetune_batch_size", "finetune_grad_frames", "augment_pad"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0, actual value: {value!r}")
        if not isinstance(self.chunk, int) or self.chunk < 1:
            raise ConfigError(
                f"chunk must be an integer >= 1 (1: no chunking), actual value: {self.chunk!r}"
            )
        if self.recon_weight < 0:
            raise ConfigError(f"recon_weight must be >= 0, actual value: {self.recon_weight!r}")


@register_agent("latent-gpt")
class LatentGPTAgent(Agent):
    """VAE latents + a causal transformer over ``context`` frames spaced ``spacing_s``.

    Args:
        action_map: action vocabulary.
        obs_shape: ``(H, W, C)`` of one frame.
        config: the agent's hyper-parameters.
        device: torch device for inference.
    """

    def __init__(
        self,
        action_map: ActionMap,
        obs_shape: tuple[int, int, int],
        config: LatentGPTConfig | None = None,
        device: str = "cpu",
    ) -> None:
        config = config or LatentGPTConfig()
        super().__init__(action_map, obs_shape, config.context, config.spacing_s)
        self.config = config
        self.device = torch.device(device)
        self.vae = VAE(self.vae_config()).to(self.device).eval()
        self.gpt = GPT(self.gpt_config()).to(self.device).eval()
        self._none = action_map.n
        self.reset()

    def vae_config(self) -> VAEConfig:
        """The VAE's config from the agent's."""
        c = self.config
        return VAEConfig(
            obs_shape=self.obs_shape,
            latent_dim=c.latent_dim,
            channels=tuple(c.vae_channels),
            beta=c.beta,
            recon=c.recon,
            fg_weight=c.fg_weight,
        )

    def gpt_config(self) -> GPTConfig:
        """The transformer's config from the agent's."""
        c = self.config
        return GPTConfig(
            latent_dim=c.latent_dim,
            n_actions=self.action_map.n,
            block_size=c.context,
            n_layer=c.n_layer,
            n_head=c.n_head,
            n_embd=c.n_embd,
            dropout=c.dropout,
            aux_next_latent=c.aux_next_latent,
            chunk=c.chunk,
        )

    def reset(self) -> None:
        """Forget the latent cache, the previous action and the ensembled action chunks."""
        self._cache: OrderedDict[bytes, tuple[torch.Tensor, int]] = OrderedDict()
        self._last = self.action_map.n  # "none"
        if self.config.chunk > 1:
            from bc_gym.agents.chunking import TemporalEnsembler

            self._ensembler = TemporalEnsembler(self.config.chunk, self.config.ensemble_coeff)

    @torch.inference_mode()
    def _act(self, obs: np.ndarray) -> int:
        keys = [hash(f.tobytes()) for f in obs]
        new = [i for i, k in enumerate(keys) if k not in self._cache]
        if new:
            first = {}
            for i in new:
                first.setdefault(keys[i], i)
            idx = list(first.values())
            mu, _ = self.vae.encode(chw(obs[idx]).to(self.device))  # (N, z)
            for j, i in enumerate(idx):
                # A new frame appeared after our last action: that action was held while it
                # was captured (the "previous action" of training).
                self._cache[keys[i]] = (mu[j], self._last)
            while len(self._cache) > 4 * self.n_stack + 8:
                self._cache.popitem(last=False)
        z = torch.stack([self._cache[k][0] for k in keys])[None]  # (1, T, z)
        prev = torch.tensor([[self._cache[k][1] for k in keys]], device=self.device)  # (1, T)
        logits, _ = self.gpt(z, prev)  # (1, T, n_actions) or (1, T, chunk, n_actions)
        if self.config.chunk > 1:  # this step's share of the chunks predicted so far
            probs = self._ensembler.update(logits[0, -1].softmax(-1).cpu().numpy())
            action = int(np.argmax(probs))  # probs: (n_actions,)
        else:
            action = int(logits[0, -1].argmax())
        # A GPT trained without the token (dropout 1) sees "none" at play time too.
        self._last = action if self.config.prev_action_dropout < 1.0 else self._none
        return action

    def to(self, device: str | torch.device) -> LatentGPTAgent:
        """Move the networks to ``device``; returns the agent."""
        self.device = torch.device(device)
        self.vae.to(self.device)
        self.gpt.to(self.device)
        self.reset()
        return self

    def config_dict(self) -> dict[str, Any]:
        """The :class:`LatentGPTConfig` as JSON."""
        return config_to_dict(self.config)

    def tensors(self) -> dict[str, torch.Tensor]:
        """VAE weights under ``vae.``, transformer weights under ``gpt.``."""
        out = {f"vae.{k}": v for k, v in self.vae.state_dict().items()}
        out.update({f"gpt.{k}": v for k, v in self.gpt.state_dict().items()})
        return out

    def load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore :meth:`tensors`."""
        self.vae.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("vae.")})
        self.gpt.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("gpt.")})

    @classmethod
    def _from_config(cls, *, action_map, obs_shape, n_stack, spacing_s, agent_config, device):
        config = config_from_dict(LatentGPTConfig, agent_config)
        return cls(action_map, obs_shape, config, device=device)

    @classmethod
    def train(
        cls,
        datasets: list[Any],
        out: str | Path,
        train_cfg: TrainConfig | None = None,
        config: LatentGPTConfig | None = None,
    ) -> LatentGPTAgent:
        """Train the VAE, cache latents, train the GPT; save the agent into ``out``."""
        return train(datasets, out, train_cfg or TrainConfig(), config or LatentGPTConfig())


# Training
@dataclass
class _Latents:
    """Per-episode VAE means/log-variances, previous actions and window indices."""

    mu: list[np.ndarray] = field(default_factory=list)
    logvar: list[np.ndarray] = field(default_factory=list)
    prev: list[np.ndarray] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)
    windows: list[np.ndarray] = field(default_factory=list)

    def flat(self) -> tuple[torch.Tensor, ...]:
        """Concatenate episodes; window indices become global frame indices."""
        offs = np.cumsum([0] + [len(m) for m in self.mu])
        mu = torch.from_numpy(np.concatenate(self.mu))
        sd = torch.from_numpy(np.exp(0.5 * np.concatenate(self.logvar)))
        prev = torch.from_numpy(np.concatenate(self.prev))
        # Label of each frame (the last frame of an episode has none: -1, never a target).
        labels = np.concatenate([np.append(a, -1) for a in self.actions])
        win = np.concatenate([w + o for w, o in zip(self.windows, offs[:-1], strict=False)])
        return mu, sd, prev, torch.from_numpy(labels), torch.from_numpy(win)

    def chunk_labels(self, k: int) -> torch.Tensor:
        """``(N, k)`` labels of each frame and of the ``k - 1`` next ones (-1 past an episode).

        Frame ``j``'s row is the action of steps ``j, j+1, ..., j+k-1`` of its episode, in the
        order of :meth:`flat`.
        """
        rows = []
        for a, m in zip(self.actions, self.mu, strict=False):
            lab = np.full(len(m) + k, -1, np.int64)  # -1: the last frame and past the end
            lab[: len(a)] = a
            rows.append(np.stack([lab[i : i + len(m)] for i in range(k)], axis=1))  # (n, k)
        return torch.from_numpy(np.concatenate(rows))


def _latents(vae: VAE, eps: Any, context: int, spacing_s: float, none: int, dev) -> _Latents:
    from bc_gym.agents.data import prev_actions, window_indices
    from bc_gym.agents.vae import encode_frames

    lat = _Latents()
    for frames, actions, times in zip(eps.frames, eps.actions, eps.times, strict=False):
        mu, lv = encode_frames(vae, frames, device=dev)
        lat.mu.append(mu)
        lat.logvar.append(lv)
        lat.prev.append(prev_actions(actions, len(frames), none))
        lat.actions.append(actions)
        lat.windows.append(window_indices(times, context, spacing_s, len(actions)))
    return lat


class _VAEWithHead(nn.Module):
    """The VAE plus an optional action head on its latent mean (trained together)."""

    def __init__(self, vae: VAE, head: nn.Module | None) -> None:
        super().__init__()
        self.vae, self.head = vae, head

    def forward(
        self, x: torch.Tensor, y: torch.Tensor | None = None, weight: float = 0.0
    ) -> torch.Tensor:
        """The VAE loss, plus ``weight`` x the action cross-entropy when labels are given."""
        if self.head is None or y is None:
            return self.vae(x)[1]
        _, loss, mu = self.vae.forward_with_latent(x)
        logits = self.head(mu)
        if not bool((y >= 0).any()):  # no labelled frame: keep the head in the graph (DDP)
            return loss + 0.0 * logits.sum()
        return loss + weight * F.cross_entropy(logits, y, ignore_index=-1)


class _Labelled(torch.utils.data.Dataset):
    """``(frame, action)`` items of a ``FrameDataset`` (-1: an episode's last frame)."""

    def __init__(self, frames: Any, ds: Any) -> None:
        self.frames = frames
        acts = {int(e): np.asarray(ds[int(e)].actions) for e in np.unique(frames.items[:, 0])}
        self.labels = np.array(
            [acts[int(e)][j] if j < len(acts[int(e)]) else -1 for e, j in frames.items], np.int64
        )

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.frames[i], int(self.labels[i])


def train_vae(
    datasets: list[Any],
    ids: list[tuple[list, list]],
    out: Path,
    cfg: TrainConfig,
    vae_cfg: VAEConfig,
    epochs: int,
    steps_per_epoch: int,
    batch_size: int,
    lr: float,
    val_frames: np.ndarray,
    action_weight: float = 0.0,
    mirror: str = "",
    augment_pad: int = 0,
) -> tuple[VAE, list[dict]]:
    """Train a VAE on the train episodes' frames, drawn by the cluster-balanced sampler.

    ``mirror`` (``"left:right"``) flips a random half of every batch left-right and exchanges
    those keys in the labels (see ``LatentGPTConfig.mirror``). ``action_weight > 0`` adds a
    linear action head on the latent mean (see ``LatentGPTConfig.vae_action_weight``).
    ``augment_pad > 0`` shifts every training frame by up to that many pixels (see
    ``LatentGPTConfig.augment_pad``); validation frames are never shifted.
    """
    from torch.utils.data import DataLoader

    from bc_gym.agents.augment import random_shift
    from bc_gym.agents.training import fit, world
    from bc_gym.agents.vae import save_grids
    from bc_gym.datasets.torch import FrameDataset, cluster_balanced_sampler

    rank, n_proc = world()
    device = torch.device(cfg.device)
    vae = VAE(vae_cfg)
    frame_sets = [FrameDataset(ds, episodes=tr) for ds, (tr, _) in zip(datasets, ids, strict=False)]
    # Background for the foreground-weighted loss: per-pixel median of a sample of frames.
    pool = [fd[int(i)] for fd in frame_sets for i in np.linspace(0, len(fd) - 1, 128).astype(int)]
    background = torch.stack(pool).float().median(dim=0).values / 255.0  # (C, H, W)
    vae.background.copy_(background)
    vae.to(device)
    per_set = max(1, steps_per_epoch * batch_size // len(frame_sets) // n_proc)
    n_actions = datasets[0].action_map.n
    perm = torch.arange(n_actions)
    if mirror:
        perm = torch.from_numpy(datasets[0].action_map.mirror_permutation(mirror))
    head = nn.Linear(vae_cfg.latent_dim, n_actions) if action_weight > 0 else None
    model = _VAEWithHead(vae, head).to(device)
    loaders = [
        DataLoader(
            _Labelled(fd, fd.ds) if head is not None else fd,
            batch_size=batch_size,
            sampler=cluster_balanced_sampler(fd, num_samples=per_set, seed=cfg.seed + rank),
        )
        for fd in frame_sets
    ]

    class _Epoch:
        def __len__(self) -> int:
            return sum(len(dl) for dl in loaders)

        def __iter__(self):
            for loader in loaders:
                yield from loader

    val_x = chw(val_frames[np.linspace(0, len(val_frames) - 1, 512).astype(int)])

    gen = torch.Generator().manual_seed(cfg.seed * 1000 + 7 + rank)

    def step_loss(net: nn.Module, batch: Any) -> torch.Tensor:
        x, y = batch if head is not None else (batch, None)  # x: (B, C, H, W) uint8
        if mirror:
            mask = torch.rand(len(x), generator=gen) < 0.5
            x = torch.where(mask[:, None, None, None], x.flip(-1), x)
            if y is not None:
                y = torch.where(mask & (y >= 0), perm[y.clamp(min=0)], y)
        x = random_shift(x, augment_pad, gen)
        return net(x.to(device), None if y is None else y.to(device), action_weight)

    def validate(model: nn.Module) -> dict[str, float]:
        model.eval()
        _, loss = model.vae(val_x.to(device))
        return {"val_loss": float(loss)}

    def on_epoch_end(model: nn.Module, epoch: int) -> None:
        save_grids(model.vae.cpu(), val_frames, out)
        model.to(device)

    vcfg = TrainConfig(**{**cfg.__dict__, "epochs": epochs, "lr": lr, "batch_size": batch_size})
    history = fit(
        model,
        lambda e: _Epoch(),
        step_loss,
        validate,
        vcfg,
        out,
        "vae",
        monitor="val_loss",
        mode="min",
        on_epoch_end=on_epoch_end,
    )
    return vae.eval(), history


class _EndToEnd(nn.Module):
    """The VAE's encoder and the GPT trained together on windows of raw frames.

    The decoder takes part only through the auxiliary VAE loss (``recon_weight > 0``); without
    it the decoder's parameters are frozen (no gradient, so the optimizer leaves them alone).
    """

    def __init__(
        self,
        vae: VAE,
        gpt: GPT,
        sample_latents: bool,
        recon_weight: float,
        grad_frames: int,
    ) -> None:
        super().__init__()
        self.vae, self.gpt = vae, gpt
        self.sample_latents, self.recon_weight = sample_latents, recon_weight
        self.grad_frames = grad_frames
        for part in (vae.from_z, vae.decoder):
            part.requires_grad_(recon_weight > 0)

    def forward(self, x: torch.Tensor, prev: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The training loss of windows ``x`` ``(B, T, C, H, W)`` uint8, oldest frame first."""
        B, T = x.shape[:2]
        g = T if self.grad_frames <= 0 else min(self.grad_frames, T)
        mu, logvar = self.vae.encode(x[:, T - g :].flatten(0, 1))  # (B*g, z) each
        mu, logvar = mu.view(B, g, -1), logvar.view(B, g, -1)  # (B, g, z)
        if g < T:  # the older frames: encoded, but the encoder learns from the newest only
            with torch.no_grad():
                mu0, lv0 = self.vae.encode(x[:, : T - g].flatten(0, 1))
            mu = torch.cat([mu0.view(B, T - g, -1), mu], dim=1)  # (B, T, z)
            logvar = torch.cat([lv0.view(B, T - g, -1), logvar], dim=1)
        z = mu
        if self.sample_latents:
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()  # (B, T, z)
        _, loss = self.gpt(z, prev, targets)
        if self.recon_weight > 0:  # the VAE loss of the newest frame of each window
            _, rec = self.vae.loss_from_stats(x[:, -1], mu[:, -1], logvar[:, -1])
            loss = loss + self.recon_weight * rec
        return loss


def train(
    datasets: list[Any], out: str | Path, cfg: TrainConfig, config: LatentGPTConfig
) -> LatentGPTAgent:
    """Train a :class:`LatentGPTAgent` on ``datasets`` and save it into ``out``.

    Stages: (1) the VAE (or ``config.vae_path``), with reconstruction grids, per-cluster error
    and a linear probe in ``out/vae/``; (2) latents of every frame, once; (3) the GPT on windows
    of ``context`` frames spaced ``spacing_s``, early-stopped on held-out macro-F1: on the
    cached latents (``encoder_train="frozen"``), or end to end on the frames, the encoder
    included (``"finetune"``: the latents of stage 2 then only set the GPT's normalisation and
    the VAE report; the training frames are gathered into one array, the episodes' copies
    released, and the held-out frames are encoded again at every validation).
    """
    import json

    from bc_gym.agents.augment import random_shift
    from bc_gym.agents.base import load_agent
    from bc_gym.agents.data import load_episodes, open_datasets, recorded_from, split
    from bc_gym.agents.training import (
        class_weights,
        classification_metrics,
        fit,
        is_main,
        seed_everything,
        setup_torch,
        world,
    )
    from bc_gym.agents.vae import encode_frames

    out = Path(out)
    device = setup_torch(cfg)
    seed_everything(cfg.seed)
    span_s = (config.context - 1) * config.spacing_s  # how far back a context reaches
    datasets, ids = split(
        open_datasets(datasets, cfg.obs_size), cfg.val_fraction, cfg.seed, span_s=span_s
    )
    train_eps = load_episodes(datasets, [t for t, _ in ids])
    val_eps = load_episodes(datasets, [v for _, v in ids])
    if not len(val_eps):  # val_fraction=0: nothing held out; VAE grids and report show training
        val_eps = load_episodes(datasets, [t[:1] for t, _ in ids])
    agent = LatentGPTAgent(datasets[0].action_map, tuple(datasets[0].obs_shape), config)
    agent.recorded_from = recorded_from(datasets)
    t0 = time.perf_counter()
    finetune = config.encoder_train == "finetune"
    val_frames = np.concatenate(val_eps.frames)
    # 1. VAE
    vae_dir = out / "vae"
    if config.vae_path:
        src = load_agent(config.vae_path)
        if not isinstance(src, LatentGPTAgent) or src.vae_config() != agent.vae_config():
            raise ValueError(
                f"vae_path {config.vae_path!r} holds no VAE matching {agent.vae_config()}"
            )
        agent.vae.load_state_dict(src.vae.state_dict())
        vae_hist: list[dict] = []
    else:
        vcfg = TrainConfig(**cfg.__dict__)
        if cfg.time_budget_s > 0:
            vcfg.time_budget_s = cfg.time_budget_s * config.vae_budget_fraction
        vae, vae_hist = train_vae(
            datasets,
            ids,
            vae_dir,
            vcfg,
            agent.vae_config(),
            config.vae_epochs,
            config.vae_steps_per_epoch,
            config.vae_batch_size,
            config.vae_lr,
            val_frames,
            action_weight=config.vae_action_weight,
            mirror=config.mirror,
            augment_pad=config.augment_pad,
        )
        agent.vae.load_state_dict(vae.state_dict())
    agent.vae.to(device).eval()
    if config.mirror:  # the GPT also learns the mirrored episodes (validation stays as recorded)
        train_eps = train_eps + train_eps.mirrored(config.mirror)
    # 2. Latents, once
    none = agent.action_map.n
    lat_tr = _latents(agent.vae, train_eps, config.context, config.spacing_s, none, device)
    lat_va = _latents(agent.vae, val_eps, config.context, config.spacing_s, none, device)
    mu, sd, prev, labels, win = lat_tr.flat()
    vmu, _, vprev, vlabels, vwin = lat_va.flat()
    # Targets: the frame's action, or (chunk > 1) the frame's and the next steps' actions.
    targets = lat_tr.chunk_labels(config.chunk) if config.chunk > 1 else labels
    vtargets = lat_va.chunk_labels(config.chunk) if config.chunk > 1 else vlabels
    if is_main() and not config.vae_path:
        report = vae_report(agent.vae, train_eps, val_eps, lat_tr, lat_va, agent.action_map.n)
        (vae_dir / "report.json").write_text(json.dumps(report, indent=2))
    # 3. GPT
    gpt = agent.gpt
    gpt.z_mean.copy_(mu.mean(0))
    gpt.z_std.copy_(mu.std(0) + 1e-3)
    if config.class_weight_power > 0:
        gpt.class_weight.copy_(
            class_weights(train_eps.all_actions(), none, config.class_weight_power)
        )
    gpt.to(device)
    rank, n_proc = world()
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + rank)
    n_win = len(win)
    batch_size = cfg.batch_size
    if finetune:
        batch_size = config.finetune_batch_size or cfg.batch_size
        # Frames (N, H, W, C) uint8 in the order of the latents; the episodes' copies go.
        frames = torch.from_numpy(np.concatenate(train_eps.frames))
        train_eps.frames = []
    per_epoch = cfg.steps_per_epoch or max(1, n_win // (batch_size * n_proc))

    def batches(epoch: int):
        class _B:
            def __len__(self) -> int:
                return per_epoch

            def __iter__(self):
                for _ in range(per_epoch):
                    yield torch.randint(0, n_win, (batch_size,), generator=gen)

        return _B()

    def drop_prev(p: torch.Tensor) -> torch.Tensor:
        if config.prev_action_dropout > 0:
            drop = torch.rand(p.shape, generator=gen) < config.prev_action_dropout
            p = p.masked_fill(drop, none)
        return p

    def step_loss(net: nn.Module, rows: torch.Tensor) -> torch.Tensor:
        w = win[rows]  # (B, T) frame indices
        z = mu[w]
        if config.sample_latents:
            z = z + sd[w] * torch.randn(z.shape, generator=gen)
        p = drop_prev(prev[w])
        return net(z.to(device), p.to(device), targets[w].to(device))[1]

    def step_loss_finetune(net: nn.Module, rows: torch.Tensor) -> torch.Tensor:
        w = win[rows]  # (B, T) frame indices
        B, T = w.shape
        x = frames[w].permute(0, 1, 4, 2, 3)  # (B, T, C, H, W) uint8
        # One shift per window (all its frames), so the motion between frames is kept.
        x = random_shift(x.reshape(B, -1, *x.shape[3:]), config.augment_pad, gen)
        x = x.reshape(B, T, -1, *x.shape[2:])  # (B, T, C, H, W)
        p = drop_prev(prev[w])
        return net(x.to(device), p.to(device), targets[w].to(device))

    def validate(model: nn.Module) -> dict[str, float]:
        net, z = model, vmu
        if finetune:  # the encoder moved: encode the held-out frames again
            net = model.gpt
            z = torch.from_numpy(encode_frames(model.vae, val_frames, device=device)[0])
        preds, loss, n = [], 0.0, 0
        for i in range(0, len(vwin), 2048):
            w = vwin[i : i + 2048]
            logits, l_ = net(z[w].to(device), vprev[w].to(device), vtargets[w].to(device))
            last = logits[:, -1] if config.chunk == 1 else logits[:, -1, 0]  # (b, n_actions)
            preds.append(last.argmax(-1).cpu())
            loss, n = loss + float(l_) * len(w), n + len(w)
        y = vlabels[vwin[:, -1]].numpy()
        m = classification_metrics(y, torch.cat(preds).numpy(), none)
        return {"val_loss": loss / max(n, 1), "val_acc": m["acc"], "val_f1": m["f1"]}

    gcfg = TrainConfig(**cfg.__dict__)
    if cfg.time_budget_s > 0:
        gcfg.time_budget_s = max(1.0, cfg.time_budget_s - (time.perf_counter() - t0))
    if finetune:
        model = _EndToEnd(
            agent.vae,
            gpt,
            config.sample_latents,
            config.recon_weight,
            config.finetune_grad_frames,
        ).to(device)
        gpt_hist = fit(model, batches, step_loss_finetune, validate, gcfg, out, "gpt")
        agent.vae.requires_grad_(True)
    else:
        gpt_hist = fit(gpt, batches, step_loss, validate, gcfg, out, "gpt")
    agent.vae.to(device).eval()
    agent.gpt.to(device).eval()
    agent.train_history = {"vae": vae_hist, "gpt": gpt_hist}
    if is_main():
        agent.to("cpu").save(out, extra={"train_time_s": round(time.perf_counter() - t0, 1)})
    return agent.to(device)


def vae_report(
    vae: VAE, train_eps: Any, val_eps: Any, lat_tr: _Latents, lat_va: _Latents, n_actions: int
) -> dict[str, Any]:
    """Linear probe (action from latent); reconstruction error: all, foreground, per cluster."""
    from bc_gym.agents.vae import fg_error, linear_probe

    ztr = np.concatenate([m[:-1] for m in lat_tr.mu])
    zva = np.concatenate([m[:-1] for m in lat_va.mu])
    report: dict[str, Any] = linear_probe(
        ztr, train_eps.all_actions(), zva, val_eps.all_actions(), n_actions
    )
    frames = np.concatenate(val_eps.frames)
    sel = np.linspace(0, len(frames) - 1, min(2000, len(frames))).astype(int)
    mse, fg = fg_error(vae, frames[sel])
    report.update({"val_mse": mse, "val_fg_mse": fg})
    report["per_cluster"] = per_cluster_error(vae, frames[sel])
    return report


def per_cluster_error(vae: VAE, frames: np.ndarray, k: int = 8) -> list[dict[str, float]]:
    """Reconstruction MSE per k-means cluster of 16x16 grey thumbnails (rare clusters matter)."""
    from sklearn.cluster import KMeans

    from bc_gym.agents.vae import fg_error

    thumbs = torch.nn.functional.adaptive_avg_pool2d(chw(frames).float().mean(1, keepdim=True), 16)
    labels = KMeans(k, n_init=3, random_state=0).fit_predict(thumbs.flatten(1).numpy())
    rows = []
    for c in range(k):
        sel = frames[labels == c]
        if len(sel):
            mse, fg = fg_error(vae, sel)
            rows.append({"cluster": c, "frames": int(len(sel)), "mse": mse, "fg_mse": fg})
    return rows
