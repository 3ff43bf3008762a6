"""``bc-gym demo``: the main job, end to end, with a table at the end."""

from __future__ import annotations

from pathlib import Path

import typer


def demo(
    out: Path = typer.Option(Path("out/demo"), "-o", "--out", help="Output folder."),
    episodes: int = typer.Option(10, help="Episodes per policy."),
    seed: int = typer.Option(10_000, help="First evaluation seed."),
) -> None:
    """Run the HighwayRacer demo: the scripted expert and a random policy play headless.

    Writes OUT/expert.gif (the expert's first episode) and OUT/scores.md, and prints the table.
    """
    import gymnasium as gym
    import imageio.v3 as iio
    import numpy as np

    import bc_gym  # noqa: F401
    from bc_gym.evaluation import TABLE_HEADER, evaluate
    from bc_gym.games.highway import ScriptedExpert, render
    from bc_gym.imaging import upscale

    out.mkdir(parents=True, exist_ok=True)
    env = gym.make("bc_gym/HighwayRacer-v0")
    seeds = range(seed, seed + episodes)
    typer.secho(f"== {episodes} episodes each, seeds {seed}..{seed + episodes - 1}", bold=True)

    expert = ScriptedExpert()
    frames: list[np.ndarray] = []
    episode = [-1]

    def expert_policy(e: gym.Env, obs: np.ndarray) -> int:
        if episode[0] == 0 and e.unwrapped.game.state.steps % 2 == 0:  # GIF at 15 fps
            frames.append(upscale(render(e.unwrapped.game), 3))
        return expert(e)

    def next_episode() -> None:
        episode[0] += 1

    rng = np.random.default_rng(seed)
    results = [
        evaluate(expert_policy, env, seeds, "scripted expert", reset=next_episode),
        evaluate(lambda e, o: int(rng.integers(9)), env, seeds, "random"),
    ]
    gif = out / "expert.gif"
    iio.imwrite(gif, np.stack(frames), duration=1000 / 15, loop=0)
    table = "\n".join([TABLE_HEADER, *[r.row() for r in results]])
    (out / "scores.md").write_text(table + "\n")
    typer.echo(table)
    typer.echo(f"wrote {gif} and {out / 'scores.md'}")
