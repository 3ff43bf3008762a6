"""One training loop for every torch agent: epochs, validation, early stopping, resume, DDP.

:func:`fit` runs mini-batch steps with AdamW, evaluates after each epoch, keeps the best weights
(by a monitored metric), stops early after ``patience`` epochs without improvement or when the
time budget is spent, and writes ``{name}_metrics.csv`` and ``{name}_curves.png`` into the run
folder. With ``resume=True`` it continues from ``{name}_state.safetensors`` /
``{name}_state.json`` (tensors and JSON only: nothing is unpickled).

Under ``torchrun`` (``WORLD_SIZE > 1``) the model is wrapped in DistributedDataParallel (gloo on
CPU, nccl on CUDA); each rank draws its own batches, every rank validates on the same held-out
episodes, rank 0 writes the files.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass
class TrainConfig:
    """Options shared by every trained agent (``bc-gym train`` exposes them all)."""

    epochs: int = 30
    """Maximum number of epochs."""
    steps_per_epoch: int = 0
    """Optimizer steps per epoch; 0: one pass over the (sampled) training set."""
    batch_size: int = 128
    """Mini-batch size (per process under torchrun)."""
    lr: float = 1e-3
    """AdamW learning rate (cosine-decayed to 10% over ``epochs``)."""
    weight_decay: float = 1e-4
    """AdamW weight decay."""
    patience: int = 5
    """Stop after this many epochs without improvement of the monitored metric (0: never)."""
    val_fraction: float = 0.2
    """Share held out for validation: whole episodes when there are enough, else the last part
    of each episode (``bc_gym.agents.data.split``). 0: no validation; the last epoch's weights
    are kept."""
    seed: int = 0
    """Seed of the split, the samplers, the initial weights and dropout."""
    device: str = "cpu"
    """``cpu`` or ``cuda``."""
    time_budget_s: float = 0.0
    """Stop training (after the current step) once this many seconds are spent; 0: no budget."""
    resume: bool = False
    """Continue from the training state in the run folder instead of starting over."""
    progress: bool = True
    """Show tqdm progress bars."""
    num_threads: int = 0
    """torch CPU threads (0: torch's default)."""
    ema_decay: float = 0.0
    """Keep an exponential moving average of the weights (``w_ema = d * w_ema + (1 - d) * w``
    after every step, e.g. 0.999); validation, the kept best epoch and the saved weights are
    then the averaged ones. 0: off (the raw weights)."""

    obs_size: tuple[int, int] | None = None
    """``(height, width)`` the pixel agents see, frames resized on load; sides multiples of 16
    of at least 48. None: recorded frames that suit every agent as they are (the 64x64
    recipes), others scaled to 96 pixels on the long side (``bc_gym.datasets.views``)."""

    def __post_init__(self) -> None:
        from bc_gym.errors import ConfigError  # a wrong value a user typed: one-line CLI error

        if self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, actual value: {self.epochs!r}")
        if self.steps_per_epoch < 0:
            raise ConfigError(
                f"steps_per_epoch must be >= 0 (0: one pass), actual value: "
                f"{self.steps_per_epoch!r}"
            )
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, actual value: {self.batch_size!r}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, actual value: {self.lr!r}")
        if self.patience < 0:
            raise ConfigError(
                f"patience must be >= 0 (0: never stop early), actual value: {self.patience!r}"
            )
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(
                f"val_fraction must be in [0, 1) (0: no validation), actual value: "
                f"{self.val_fraction!r}"
            )
        if self.device not in ("cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"device must be 'cpu' or 'cuda', actual value: {self.device!r}")
        if self.time_budget_s < 0:
            raise ConfigError(
                f"time_budget_s must be >= 0 (0: no budget), actual value: {self.time_budget_s!r}"
            )
        if self.obs_size is not None:
            from bc_gym.datasets.views import check_obs_size

            self.obs_size = check_obs_size(self.obs_size)
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(
                f"ema_decay must be in [0, 1) (0: off, e.g. 0.999), actual value: "
                f"{self.ema_decay!r}"
            )


# Distributed helpers
def world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process (``(0, 1)`` outside torchrun)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def init_distributed(device: str) -> tuple[int, int]:
    """Join the torchrun process group when ``WORLD_SIZE > 1``; returns ``(rank, world)``."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        torch.distributed.init_process_group(backend=backend)
        if device.startswith("cuda"):
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return world()


def is_main() -> bool:
    """True on rank 0 (the process that writes files and shows progress)."""
    return world()[0] == 0


def _broadcast_flag(flag: bool) -> bool:
    if world()[1] == 1:
        return flag
    t = torch.tensor([int(flag)])
    torch.distributed.broadcast(t, 0)
    return bool(t.item())


def seed_everything(seed: int) -> None:
    """Seed torch and numpy's global generators."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def setup_torch(cfg: TrainConfig) -> torch.device:
    """Apply ``num_threads`` and check the device; returns it."""
    if cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        from bc_gym.errors import ConfigError

        raise ConfigError(
            "device 'cuda' was requested but torch sees no CUDA GPU; use --device cpu"
        )
    if cfg.device.startswith("cuda") and world()[1] > 1:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device(cfg.device)


# Metrics
def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict:
    """Accuracy and macro-F1 (over the classes present in ``y_true`` or ``y_pred``)."""
    from sklearn.metrics import f1_score

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0:
        return {"acc": float("nan"), "f1": float("nan")}
    labels = np.union1d(np.unique(y_true), np.unique(y_pred))
    return {
        "acc": float((y_true == y_pred).mean()),
        "f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
    }


def class_weights(actions: np.ndarray, n: int, power: float = 0.5) -> torch.Tensor:
    """Cross-entropy weights ``freq ** -power``, normalised to a frequency-weighted mean of 1."""
    counts = np.bincount(np.asarray(actions, dtype=np.int64), minlength=n).astype(np.float64)
    freq = (counts + 1.0) / (counts.sum() + n)
    w = freq**-power
    w /= (w * freq).sum()
    return torch.tensor(w, dtype=torch.float32)


# State files (resume)
def _flatten_optimizer(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"opt.{pid}.{k}"] = v.detach().cpu().contiguous()
            else:
                scalars[f"{pid}.{k}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, v in tensors.items():
        if name.startswith("opt."):
            _, pid, k = name.split(".", 2)
            state.setdefault(int(pid), {})[k] = v
    for name, v in meta["scalars"].items():
        pid, k = name.split(".", 1)
        state.setdefault(int(pid), {})[k] = v
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def _save_state(
    out: Path, name: str, model: nn.Module, opt, sched, meta: dict, ema: nn.Module | None = None
) -> None:
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if ema is not None:
        ema_sd = ema.state_dict()
        tensors.update({f"ema.{k}": v.detach().cpu().contiguous() for k, v in ema_sd.items()})
    opt_t, opt_meta = _flatten_optimizer(opt)
    tensors.update(opt_t)
    save_file(tensors, str(out / f"{name}_state.safetensors"))
    meta = {**meta, "optimizer": opt_meta, "scheduler": sched.state_dict()}
    (out / f"{name}_state.json").write_text(json.dumps(meta))


def _load_state(
    out: Path, name: str, model: nn.Module, opt, sched, ema: nn.Module | None = None
) -> dict | None:
    from safetensors.torch import load_file

    from bc_gym.errors import CheckpointError

    tfile, jfile = out / f"{name}_state.safetensors", out / f"{name}_state.json"
    if not (tfile.is_file() and jfile.is_file()):
        return None
    try:
        tensors = load_file(str(tfile))
        meta = json.loads(jfile.read_text())
        model.load_state_dict(
            {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True
        )
        _unflatten_optimizer(opt, tensors, meta["optimizer"])
        sched.load_state_dict(meta["scheduler"])
        ema_sd = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
        if ema is not None and ema_sd:  # else (EMA newly turned on) it starts from the model
            ema.load_state_dict(ema_sd, strict=True)
    except Exception as exc:
        raise CheckpointError(
            f"cannot resume from {tfile} ({exc}); delete it or train without --resume"
        ) from exc
    return meta


def write_curves(history: list[dict], csv_path: Path, png_path: Path, title: str) -> None:
    """Write the per-epoch metrics as CSV and a PNG of every numeric column."""
    if not history:
        return
    keys = list(history[0])
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = [k for k in keys if k not in ("epoch", "time_s", "steps")]
    losses = [k for k in cols if "loss" in k]
    scores = [k for k in cols if k not in losses]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    ep = [h["epoch"] for h in history]
    for ax, group, label in ((axes[0], losses, "loss"), (axes[1], scores, "score")):
        for k in group:
            ax.plot(ep, [h[k] for h in history], marker=".", label=k)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        if group:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png_path, dpi=80)
    plt.close(fig)


def _make_ema(model: nn.Module, decay: float) -> Any:
    """An ``AveragedModel`` with the EMA of ``model``'s parameters (None when ``decay`` is 0)."""
    if decay <= 0:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    # use_buffers=False: buffers (class weights, norm statistics, integer counters) are copied,
    # not averaged; see _update_ema.
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)


def _update_ema(ema: Any, model: nn.Module) -> None:
    """One EMA step of the parameters; the buffers are copied from ``model``."""
    ema.update_parameters(model)
    with torch.no_grad():
        for b_ema, b in zip(ema.module.buffers(), model.buffers(), strict=True):
            b_ema.copy_(b)


def fit(
    model: nn.Module,
    batches: Callable[[int], Iterable[Any]],
    step_loss: Callable[[nn.Module, Any], torch.Tensor],
    validate: Callable[[nn.Module], dict[str, float]],
    cfg: TrainConfig,
    out: Path,
    name: str,
    monitor: str = "val_f1",
    mode: str = "max",
    on_epoch_end: Callable[[nn.Module, int], None] | None = None,
) -> list[dict]:
    """Train ``model`` in place; leave the best weights in it (without validation: the last).

    Args:
        model: the module (on its device already).
        batches: ``batches(epoch)`` gives the epoch's mini-batches (an iterable with ``len``).
        step_loss: ``step_loss(module, batch)`` returns the scalar loss to minimise (the module
            is the DDP wrapper under torchrun).
        validate: returns the epoch's metrics; must include ``monitor``. Not called when
            ``cfg.val_fraction`` is 0 (nothing held out): every epoch then counts as the best.
        cfg: the shared options.
        out: the run folder (metrics, curves and resume state go there).
        name: prefix of the files written (``vae``, ``gpt``, ``cnn``...).
        monitor: metric that decides the best epoch and early stopping.
        mode: ``"max"`` or ``"min"`` for ``monitor``.
        on_epoch_end: called on rank 0 with the (unwrapped) model and epoch after validation
            (with ``cfg.ema_decay > 0``: the module holding the averaged weights).

    With ``cfg.ema_decay > 0`` an exponential moving average of the weights is updated after
    every optimizer step (``torch.optim.swa_utils.AveragedModel``; buffers are copied from the
    model); ``validate`` sees the averaged weights, and the best of them end in ``model``.

    Returns:
        One dict per epoch: ``epoch``, ``steps``, ``time_s``, ``train_loss`` and the metrics.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rank, n_proc = world()
    net: nn.Module = model
    if n_proc > 1:
        net = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs, eta_min=cfg.lr / 10)
    history: list[dict] = []
    best = -math.inf if mode == "max" else math.inf
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    ema = _make_ema(model, cfg.ema_decay)
    evaluated = model if ema is None else ema.module  # the weights validated and kept
    start_epoch, bad, spent = 0, 0, 0.0
    if cfg.resume:
        meta = _load_state(out, name, model, opt, sched, ema)
        if meta is not None:
            history, best, bad = meta["history"], meta["best"], meta["bad"]
            start_epoch, spent = meta["epoch"] + 1, meta["time_s"]
            from safetensors.torch import load_file

            best_file = out / f"{name}_best.safetensors"
            if best_file.is_file():
                best_state = load_file(str(best_file))
    t0 = time.perf_counter() - spent
    stop = start_epoch >= cfg.epochs or bad >= cfg.patience > 0
    steps = history[-1]["steps"] if history else 0
    for epoch in range(start_epoch, cfg.epochs):
        if stop:
            break
        net.train()
        epoch_batches = batches(epoch)
        bar = tqdm(
            epoch_batches,
            desc=f"{name} epoch {epoch + 1}/{cfg.epochs}",
            disable=not (cfg.progress and rank == 0),
            leave=False,
        )
        total, n = 0.0, 0
        for batch in bar:
            loss = step_loss(net, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if ema is not None:
                _update_ema(ema, model)
            total, n, steps = total + float(loss.detach()), n + 1, steps + 1
            bar.set_postfix(loss=f"{total / n:.4f}")
            over = cfg.time_budget_s > 0 and time.perf_counter() - t0 > cfg.time_budget_s
            if _broadcast_flag(over):
                stop = True
                break
        bar.close()
        sched.step()
        model.eval()
        evaluated.eval()
        with torch.no_grad():  # val_fraction=0: nothing was held out, nothing to validate
            metrics = validate(evaluated) if cfg.val_fraction > 0 else {}
        row = {"epoch": epoch + 1, "steps": steps, "time_s": round(time.perf_counter() - t0, 2)}
        row["train_loss"] = total / max(n, 1)
        row.update(metrics)
        history.append(row)
        if cfg.val_fraction > 0:
            value = metrics[monitor]
            improved = value > best if mode == "max" else value < best
        else:  # without validation the last epoch's weights are kept
            value, improved = best, True
        if improved:
            best, bad = value, 0
            best_state = {k: v.detach().clone() for k, v in evaluated.state_dict().items()}
        else:
            bad += 1
        if cfg.patience > 0 and bad >= cfg.patience:
            stop = True
        stop = _broadcast_flag(stop)
        if rank == 0:
            shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
            if cfg.progress:
                tqdm.write(f"{name}: {shown}")
            write_curves(history, out / f"{name}_metrics.csv", out / f"{name}_curves.png", name)
            from safetensors.torch import save_file

            if improved:
                save_file(
                    {k: v.cpu().contiguous() for k, v in best_state.items()},
                    str(out / f"{name}_best.safetensors"),
                )
            meta = {"epoch": epoch, "best": best, "bad": bad, "history": history}
            meta["time_s"] = time.perf_counter() - t0
            _save_state(out, name, model, opt, sched, meta, ema)
            if on_epoch_end is not None:
                on_epoch_end(evaluated, epoch)
    model.load_state_dict(best_state)
    return history
