"""Behaviour cloning with perfect perception: how far can cloning the expert go at all?

The agents learn from pixels. This benchmark removes perception from the question: it replays
the dataset recipe's episodes (same seeds, same expert, same noise; the actions are checked
equal to the cached dataset's), records the exact game-state features the expert itself reads
(player x and speed; per lane: the gap to the nearest visible car, its speed, a car alongside),
trains a small MLP on them with the recipe's labels, and drives unseen seeds. Whatever the MLP
misses, a policy on pixels cannot be expected to reach either: the gap between this table and
the expert is the imitation problem (compounding errors), not the VAE or the GPT.

``--learners mlp,trees`` also fits gradient-boosted trees (scikit-learn's
``HistGradientBoostingClassifier``) to the same rows. The expert's rule is a set of thresholds,
which trees fit well offline; the question is whether a better held-out accuracy drives better.

Plain torch on purpose: ten lines of MLP and a loop; no agent class is needed for a
diagnostic that no user runs on their own game.

.venv/bin/python -m benchmarks.bc_ceiling                   # writes results/bc_ceiling.md
.venv/bin/python -m benchmarks.bc_ceiling --episodes 2 --updates 200 --runs 1 --seeds 2 --no-write

:func:`fit_mlp` (replay the recipe, hold out its last 20% of episodes, optionally add the
mirrored states, train the MLP) and :func:`state_policy` are imported by the agent protocol
(``benchmarks/protocol.py``) for its exact-state reference row.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import bc_gym  # noqa: F401  (registers the env)
from bc_gym.actions import HIGHWAY_ACTIONS
from bc_gym.agents.training import classification_metrics
from bc_gym.datasets import load_dataset
from bc_gym.datasets.recipes import highway_expert_dataset
from bc_gym.evaluation import TABLE_HEADER, EvalResult, Policy, evaluate
from bc_gym.games.highway import ScriptedExpert
from bc_gym.games.highway.expert import VISIBLE_AHEAD
from bc_gym.games.highway.game import CAR_H, HighwayGame
from benchmarks.machine import write_result

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--episodes",
    default="20,20m,100",
    help="training episode counts to compare; 'm': also the left-right mirrored states",
)
parser.add_argument("--noise", type=float, default=0.05, help="expert noise of the recipe")
parser.add_argument(
    "--updates", type=int, default=40_000, help="MLP updates (batches of 256) per training run"
)
parser.add_argument(
    "--runs",
    type=int,
    default=3,
    help="training runs per learner and episode count (training seeds 0..RUNS-1): one run's "
    "road return moves a lot with its seed",
)
parser.add_argument("--seeds", type=int, default=20, help="unseen seeds to drive")
parser.add_argument(
    "--learners",
    default="mlp,trees",
    help="mlp (torch, --updates) and/or trees (boosted trees, scikit-learn)",
)
parser.add_argument("--no-write", action="store_true", help="print only")


def features(game: HighwayGame) -> np.ndarray:
    """What the expert reads, scaled to ~[0, 1]: x, v; per lane gap, lead speed, alongside."""
    s, c = game.state, game.config
    gap, lead_v, beside = [100.0] * c.lanes, [150.0] * c.lanes, [0.0] * c.lanes
    for car in s.cars:
        dy = car.y - s.distance
        if dy > VISIBLE_AHEAD:
            continue  # off screen: the expert does not see it either
        if -CAR_H - 6 < dy < CAR_H + 6:
            beside[car.lane] = 1.0
        if dy > -CAR_H + 2 and dy - CAR_H < gap[car.lane]:
            gap[car.lane], lead_v[car.lane] = max(dy - CAR_H, 0.0), car.v
    road = c.road_w
    head = [s.x / road, s.v / c.v_max]
    return np.array(head + [g / 100 for g in gap] + [v / c.v_max for v in lead_v] + beside, "f4")


def recipe_states(
    n_episodes: int, noise: float, max_steps: int = 1000, obs_size: tuple[int, int] = (64, 64)
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Replay ``highway_expert_dataset(n_episodes, noise, seed=0)``; features and labels."""
    path = highway_expert_dataset(
        n_episodes=n_episodes, noise=noise, seed=0, max_steps=max_steps, obs_size=obs_size
    )
    ds = load_dataset(path)
    env = gym.make("bc_gym/HighwayRacer-v0", obs_size=tuple(ds.obs_shape[:2]), max_steps=max_steps)
    expert = ScriptedExpert(noise=noise, seed=0)  # the recipe's expert, same RNG stream
    xs, ys = [], []
    for i in range(n_episodes):
        env.reset(seed=i)  # the recipe's seed for episode i with seed=0
        expert.reset()
        feats, acts = [], []
        while True:
            feats.append(features(env.unwrapped.game))
            a = expert(env)
            acts.append(expert.intended)  # the recipe's labels (labels="expert")
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                break
        if not np.array_equal(np.asarray(acts), ds[i].actions):
            raise RuntimeError(f"replay of episode {i} differs from the cached recipe dataset")
        xs.append(np.stack(feats))
        ys.append(np.asarray(acts, np.int64))
    return xs, ys


def mirror(x: np.ndarray, y: np.ndarray, lanes: int) -> tuple[np.ndarray, np.ndarray]:
    """The same states seen in a left-right mirror (lanes reversed), labels with keys swapped."""
    m = x.copy()
    m[:, 0] = 1.0 - m[:, 0]
    for b in range(2, 2 + 3 * lanes, lanes):
        m[:, b : b + lanes] = m[:, b : b + lanes][:, ::-1]
    return m, HIGHWAY_ACTIONS.mirror_permutation("left:right")[y]


@dataclass
class StateRows:
    """Exact-state training and held-out rows of one recipe (see :func:`state_rows`)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def state_rows(xs: list[np.ndarray], ys: list[np.ndarray], mirrored: bool, lanes: int) -> StateRows:
    """Hold out the last 20% of the episodes; add the mirrored training states if asked."""
    n_val = max(1, len(xs) // 5)  # the last 20% of episodes are held out for the accuracy
    x_np, y_np = np.concatenate(xs[:-n_val]), np.concatenate(ys[:-n_val])
    if mirrored:
        mx, my = mirror(x_np, y_np, lanes)
        x_np, y_np = np.concatenate([x_np, mx]), np.concatenate([y_np, my])
    return StateRows(x_np, y_np, np.concatenate(xs[-n_val:]), np.concatenate(ys[-n_val:]))


def train_mlp(x: torch.Tensor, y: torch.Tensor, seed: int, updates: int) -> nn.Module:
    """Two hidden layers of 256, Adam 1e-3, ``updates`` batches of 256 drawn with replacement."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(x.shape[1], 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                        nn.Linear(256, HIGHWAY_ACTIONS.n))  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(updates):
        rows = torch.randint(0, len(y), (256,))
        loss = F.cross_entropy(net(x[rows]), y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def mlp_predict(net: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """``predict(features (N, F)) -> actions (N,)`` of a trained MLP."""

    def predict(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(x)).argmax(-1).numpy()

    return predict


def state_policy(predict: Callable[[np.ndarray], np.ndarray]) -> Policy:
    """A policy that reads the exact game state of a HighwayRacer env (not its frames)."""

    def policy(e: gym.Env, o: np.ndarray) -> int:
        return int(predict(features(e.unwrapped.game)[None])[0])

    return policy


def fit_mlp(rows: StateRows, seed: int, updates: int) -> tuple[Callable, dict[str, float]]:
    """Train the MLP on ``rows``; its predictor and fit figures (seconds, accuracies, F1)."""
    t0 = time.perf_counter()
    predict = mlp_predict(
        train_mlp(torch.from_numpy(rows.x_train), torch.from_numpy(rows.y_train), seed, updates)
    )
    fit_s = time.perf_counter() - t0
    m = classification_metrics(rows.y_val, predict(rows.x_val), HIGHWAY_ACTIONS.n)
    train_acc = float((predict(rows.x_train) == rows.y_train).mean())
    return predict, {"fit_s": fit_s, "train_acc": train_acc, "val_acc": m["acc"], "val_f1": m["f1"]}


def main(argv: list[str] | None = None) -> None:
    """The exact-state tables (``--no-write``: print only)."""
    args = parser.parse_args(argv)
    for learner in args.learners.split(","):
        if learner not in ("mlp", "trees"):
            parser.error(f"--learners: unknown learner {learner!r} (mlp, trees)")
    torch.set_num_threads(1)
    seeds = range(10_000, 10_000 + args.seeds)
    env = gym.make("bc_gym/HighwayRacer-v0")
    expert = ScriptedExpert(noise=0.0)
    results: list[EvalResult] = [evaluate(lambda e, o: expert(e), env, seeds, "expert (noise 0)")]
    fit_rows = []
    for spec in args.episodes.split(","):
        n, mirrored = int(spec.rstrip("m")), spec.endswith("m")
        xs, ys = recipe_states(n, args.noise)
        rows = state_rows(xs, ys, mirrored, env.unwrapped.game.config.lanes)
        label = f"{n} + mirrored" if mirrored else str(n)
        for learner in args.learners.split(","):
            pcts, accs, f1s, tr_accs, fits = [], [], [], [], []
            for run in range(args.runs):
                if learner == "mlp":
                    predict, fitted = fit_mlp(rows, run, args.updates)
                    title, fit = "MLP", f"{args.updates:,} updates"
                else:  # "trees"
                    from sklearn.ensemble import HistGradientBoostingClassifier

                    t0 = time.perf_counter()
                    clf = HistGradientBoostingClassifier(max_iter=300, random_state=run)
                    clf.fit(rows.x_train, rows.y_train)
                    fit_s = time.perf_counter() - t0
                    predict, title, fit = clf.predict, "boosted trees", "early-stopped boosting"
                    m = classification_metrics(rows.y_val, predict(rows.x_val), HIGHWAY_ACTIONS.n)
                    train_acc = float((predict(rows.x_train) == rows.y_train).mean())
                    fitted = {"fit_s": fit_s, "train_acc": train_acc, "val_acc": m["acc"],
                              "val_f1": m["f1"]}  # fmt: skip
                fits.append(fitted["fit_s"])
                tr_accs.append(fitted["train_acc"])
                accs.append(fitted["val_acc"])
                f1s.append(fitted["val_f1"])
                name = f"{title} on exact state, {label} episodes, run {run + 1}"
                res = evaluate(state_policy(predict), env, seeds, name)
                results.append(res)
                pcts.append(100 * res.mean / results[0].mean)
                print(res.row(), flush=True)
            fit_rows.append(
                f"| {title} | {label} | {len(rows.y_train):,} | {fit} ({np.mean(fits):.0f} s) "
                f"| {np.mean(tr_accs):.3f} | {np.mean(accs):.3f} | {np.mean(f1s):.3f} "
                f"| {' / '.join(f'{p:.0f}%' for p in pcts)} | **{np.mean(pcts):.0f}%** |"
            )
            print(fit_rows[-1], flush=True)

    md = "\n".join(
        [
            f"### Cloning the expert from exact game state ({args.seeds} unseen seeds, "
            f"recipe noise {args.noise})",
            TABLE_HEADER,
            *[r.row() for r in results],
            "",
            f"| learner | episodes | train steps (labels) | fit per run "
            f"| train acc | held-out acc | held-out macro-F1 | % of expert, runs 1-{args.runs} "
            "| mean % of expert |",
            "|---|---|---|---|---|---|---|---|---|",
            *fit_rows,
            "",
            "Features: the player's x and speed; per lane the gap to the nearest visible car, "
            "its speed and whether a car is alongside (exactly what the expert's rule reads). "
            "Held out: the last 20% of the episodes. Accuracy and F1 are means over the runs; "
            "run k uses training seed k-1 (the MLP's initial weights and batches, one torch "
            "thread; the trees' early-stopping split).",
        ]
    )
    print(md)
    if not args.no_write:
        print("wrote", write_result("bc_ceiling", md, "python -m benchmarks.bc_ceiling"))


if __name__ == "__main__":
    main()
