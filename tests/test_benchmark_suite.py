"""`python -m benchmarks`: every registered benchmark has its place in the README, and back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.utils import load_benchmark

suite = load_benchmark("__main__", "bc_gym_benchmarks_suite")
RESULTS, ROOT, SUITE = suite.RESULTS, suite.ROOT, suite.SUITE

MARKER = re.compile(r"<!-- bench:([\w-]+) -->\n.*?<!-- /bench:\1 -->", re.S)


def readme_markers() -> list[str]:
    """Names of the README's complete ``bench:NAME`` ... ``/bench:NAME`` blocks, in order."""
    return MARKER.findall((ROOT / "README.md").read_text())


def test_every_suite_entry_has_one_readme_block() -> None:
    """A benchmark whose table has nowhere to go in the README would be run for nothing."""
    markers = readme_markers()
    missing = [name for name in SUITE if name not in markers]
    assert not missing, f"SUITE entries without a README block: {missing}"
    twice = sorted({m for m in markers if markers.count(m) > 1})
    assert not twice, f"README blocks that appear more than once: {twice}"


def test_every_results_file_names_its_command_and_suite_results_are_shown() -> None:
    """Each results file says which command made it; those of SUITE are copied into the README."""
    paths = sorted(RESULTS.glob("*.md"))
    assert paths, f"no results files in {RESULTS}"
    command = re.compile(r"`[^`\n]*(python -m benchmarks|benchmarks/\w+\.py|bc-gym )[^`\n]*`")
    anonymous = [p.name for p in paths if not command.search(p.read_text())]
    assert not anonymous, f"results files that do not name their command: {anonymous}"
    hidden = [p.stem for p in paths if p.stem in SUITE and p.stem not in readme_markers()]
    assert not hidden, f"SUITE results missing from the README: {hidden}"


def test_every_suite_entry_names_an_existing_script() -> None:
    """Each entry runs ``benchmarks/MODULE.py``: a typo would only show after hours of runs."""
    bad = {n: m for n, (m, _) in SUITE.items() if not (ROOT / "benchmarks" / f"{m}.py").is_file()}
    assert not bad, f"SUITE entries whose script does not exist: {bad}"


def test_readme_is_in_sync_with_the_results_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refreshing the README from results/ changes nothing: no table was edited by hand."""
    copy = tmp_path / "README.md"
    copy.write_text((ROOT / "README.md").read_text())
    monkeypatch.setattr(suite, "ROOT", tmp_path)
    suite.refresh_readme()
    assert copy.read_text() == (ROOT / "README.md").read_text()
