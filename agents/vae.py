"""A convolutional beta-VAE over game frames: the frame encoder of the latent GPT.

Small objects (cars are ~7x11 px of a 64x64 frame) carry the decisions but little of a plain
pixel loss, so the reconstruction loss can up-weight **foreground** pixels: those that differ
from the background (the per-pixel median of the training frames; the road is static on screen
apart from the dashes), or add an **edge** term (L1 between image gradients). ``recon`` picks
the variant; ``benchmarks/agents.py --vae-ablation`` measures them with a linear probe (expert
action from the latent alone) and the foreground reconstruction error.

Example:
    >>> import torch
    >>> from bc_gym.agents.vae import VAE, VAEConfig
    >>> vae = VAE(VAEConfig(obs_shape=(64, 64, 3), latent_dim=32))
    >>> mu, logvar = vae.encode(torch.zeros(2, 3, 64, 64, dtype=torch.uint8))
    >>> tuple(mu.shape)
    (2, 32)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn


@dataclass
class VAEConfig:
    """Hyper-parameters of the VAE."""

    obs_shape: tuple[int, int, int] = (64, 64, 3)
    """``(H, W, C)`` of a frame; H and W must be multiples of 16."""
    latent_dim: int = 64
    """Size of the latent vector."""
    channels: tuple[int, ...] = (32, 64, 64, 128)
    """Channels of the four stride-2 conv layers (the decoder mirrors them)."""
    beta: float = 0.5
    """Weight of the KL term (beta-VAE); the reconstruction loss is summed over pixels."""
    recon: str = "fg"
    """Reconstruction loss: ``mse``, ``fg`` (foreground-weighted MSE) or ``edge`` (MSE + edges)."""
    fg_weight: float = 10.0
    """Extra weight of foreground pixels (``recon="fg"``)."""
    fg_threshold: float = 0.08
    """A pixel is foreground when a channel differs from the background by more than this."""
    edge_weight: float = 1.0
    """Weight of the gradient L1 term (``recon="edge"``)."""

    def __post_init__(self) -> None:
        h, w, c = self.obs_shape
        if h % 16 or w % 16 or c < 1:
            raise ValueError(
                f"obs_shape must be (H, W, C) with H, W multiples of 16, actual value: "
                f"{self.obs_shape!r}; resize frames (e.g. obs_size=(64, 64))"
            )
        if self.recon not in ("mse", "fg", "edge"):
            raise ValueError(f"recon must be 'mse', 'fg' or 'edge', actual value: {self.recon!r}")
        if len(self.channels) != 4:
            raise ValueError(f"channels must have 4 entries, actual value: {self.channels!r}")


class VAE(nn.Module):
    """Encoder ``(B, C, H, W) uint8 -> (mu, logvar)``, decoder ``z -> (B, C, H, W)`` in [0, 1]."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        h, w, c = cfg.obs_shape
        ch = cfg.channels
        layers: list[nn.Module] = []
        prev = c
        for k in ch:
            layers += [nn.Conv2d(prev, k, 4, 2, 1), nn.GELU()]
            prev = k
        self.encoder = nn.Sequential(*layers, nn.Flatten())
        self.grid = (h // 16, w // 16)
        flat = ch[-1] * self.grid[0] * self.grid[1]
        self.to_stats = nn.Linear(flat, 2 * cfg.latent_dim)
        self.from_z = nn.Linear(cfg.latent_dim, flat)
        dec: list[nn.Module] = []
        for i in range(3, 0, -1):
            dec += [nn.ConvTranspose2d(ch[i], ch[i - 1], 4, 2, 1), nn.GELU()]
        dec += [nn.ConvTranspose2d(ch[0], c, 4, 2, 1)]
        self.decoder = nn.Sequential(*dec)
        # Background frame (per-pixel median of training frames) for the foreground loss.
        self.register_buffer("background", torch.zeros(c, h, w))

    @staticmethod
    def to_float(frames: torch.Tensor) -> torch.Tensor:
        """uint8 ``(B, C, H, W)`` -> float in [0, 1]."""
        return frames.float() / 255.0 if frames.dtype == torch.uint8 else frames

    def encode(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames ``(B, C, H, W)`` (uint8 or float in [0, 1]) -> ``mu, logvar`` ``(B, z)``."""
        stats = self.to_stats(self.encoder(self.to_float(frames)))  # (B, 2z)
        mu, logvar = stats.chunk(2, dim=-1)
        return mu, logvar.clamp(-10.0, 10.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``(B, z)`` -> frames ``(B, C, H, W)`` in [0, 1]."""
        x = self.from_z(z).view(len(z), self.cfg.channels[-1], *self.grid)
        return torch.sigmoid(self.decoder(x))

    def recon_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel weights ``(B, 1, H, W)``: 1 + fg_weight on foreground pixels."""
        fg = (x - self.background).abs().amax(dim=1, keepdim=True) > self.cfg.fg_threshold
        return 1.0 + self.cfg.fg_weight * fg.float()

    def forward(
        self, frames: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruct ``frames``; returns ``(reconstruction, loss)`` (loss per frame)."""
        xr, loss, _ = self.forward_with_latent(frames)
        return xr, loss

    def forward_with_latent(
        self, frames: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`forward` that also returns the latent means ``(B, latent_dim)``."""
        x = self.to_float(frames)
        mu, logvar = self.encode(x)
        xr, loss = self.loss_from_stats(x, mu, logvar)
        return xr, loss, mu

    def loss_from_stats(
        self, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The VAE loss of frames ``x`` already encoded into ``mu, logvar``.

        Used where the encoding is shared with another loss (the latent GPT trained end to end
        adds it as an auxiliary term).

        Args:
            x: frames ``(B, C, H, W)`` (uint8 or float in [0, 1]).
            mu: latent means ``(B, latent_dim)`` of ``x``.
            logvar: latent log-variances ``(B, latent_dim)``.

        Returns:
            ``(reconstruction (B, C, H, W), loss)``: the loss is per frame, averaged over ``B``.
        """
        x = self.to_float(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        xr = self.decode(z)
        err = (xr - x) ** 2  # (B, C, H, W)
        if self.cfg.recon == "fg":
            err = err * self.recon_weights(x)
        rec = err.flatten(1).sum(-1)
        if self.cfg.recon == "edge":
            for dim in (2, 3):
                gx, gr = x.diff(dim=dim), xr.diff(dim=dim)
                rec = rec + self.cfg.edge_weight * (gx - gr).abs().flatten(1).sum(-1)
        kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(-1)
        loss = (rec + self.cfg.beta * kl).mean()
        return xr, loss


def chw(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``(..., H, W, C)`` uint8 -> ``(..., C, H, W)`` torch uint8."""
    t = torch.as_tensor(np.asarray(frames))
    return t.movedim(-1, -3).contiguous()


@torch.no_grad()
def encode_frames(
    vae: VAE, frames: np.ndarray, batch_size: int = 512, device: str | torch.device = "cpu"
) -> tuple[np.ndarray, np.ndarray]:
    """Encode uint8 ``(N, H, W, C)`` frames -> ``mu, logvar`` float32 ``(N, z)``."""
    vae.eval()
    mus, lvs = [], []
    for i in range(0, len(frames), batch_size):
        mu, lv = vae.encode(chw(frames[i : i + batch_size]).to(device))
        mus.append(mu.cpu().numpy())
        lvs.append(lv.cpu().numpy())
    z = vae.cfg.latent_dim
    if not mus:
        return np.zeros((0, z), np.float32), np.zeros((0, z), np.float32)
    return np.concatenate(mus), np.concatenate(lvs)


@torch.no_grad()
def fg_error(vae: VAE, frames: np.ndarray, batch_size: int = 512) -> tuple[float, float]:
    """Mean squared error over all pixels and over foreground pixels only (frames uint8 NHWC)."""
    vae.eval()
    tot = fg_tot = 0.0
    n = fg_n = 0.0
    for i in range(0, len(frames), batch_size):
        x = vae.to_float(chw(frames[i : i + batch_size]))
        mu, _ = vae.encode(x)
        err = ((vae.decode(mu) - x) ** 2).mean(1, keepdim=True)  # (B, 1, H, W)
        fg = (vae.recon_weights(x) > 1).float()
        tot += float(err.sum())
        n += err.numel()
        fg_tot += float((err * fg).sum())
        fg_n += float(fg.sum())
    return tot / max(n, 1), fg_tot / max(fg_n, 1)


def linear_probe(
    z_train: np.ndarray,
    y_train: np.ndarray,
    z_val: np.ndarray,
    y_val: np.ndarray,
    n: int,
    max_train: int = 20_000,
) -> dict[str, float]:
    """Logistic regression from latents to actions: held-out accuracy and macro-F1.

    At most ``max_train`` training rows (a fixed random sample) are used: enough for a linear
    model of the latent, and lbfgs then converges (on all 158k frames of 100 episodes it
    stopped at its iteration limit). ``probe_train_frames`` is the number of rows used.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from bc_gym.agents.training import classification_metrics

    if len(z_train) > max_train:
        keep = np.random.default_rng(0).choice(len(z_train), max_train, replace=False)
        z_train, y_train = z_train[keep], y_train[keep]
    scaler = StandardScaler().fit(z_train)
    clf = LogisticRegression(max_iter=1000, class_weight="balanced")
    clf.fit(scaler.transform(z_train), y_train)
    m = classification_metrics(y_val, clf.predict(scaler.transform(z_val)), n)
    return {"probe_acc": m["acc"], "probe_f1": m["f1"], "probe_train_frames": len(z_train)}


@torch.no_grad()
def save_grids(vae: VAE, frames: np.ndarray, out: Path, tag: str = "", n: int = 8) -> None:
    """Write ``reconstructed{tag}.png`` (originals above reconstructions), ``samples{tag}.png``."""
    from PIL import Image

    vae.eval()
    idx = np.linspace(0, len(frames) - 1, min(n, len(frames))).astype(int)
    x = vae.to_float(chw(frames[idx]))
    mu, _ = vae.encode(x)
    rec = vae.decode(mu)
    z = torch.randn(len(idx), vae.cfg.latent_dim, generator=torch.Generator().manual_seed(0))
    smp = vae.decode(z)

    def row(t: torch.Tensor) -> np.ndarray:  # (B, C, H, W) -> (H, B*W, C)
        a = (t.clamp(0, 1) * 255).round().byte().movedim(1, -1).numpy()
        a = np.concatenate(list(a), axis=1)
        return a if a.shape[-1] != 1 else a[..., 0]

    def save(img: np.ndarray, name: str) -> None:
        img = np.kron(img, np.ones((2, 2) + (1,) * (img.ndim - 2), np.uint8))
        Image.fromarray(img).save(out / name)

    save(np.concatenate([row(x), row(rec)], axis=0), f"reconstructed{tag}.png")
    save(row(smp), f"samples{tag}.png")
