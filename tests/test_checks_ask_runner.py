"""The folder and history checks have one body that asks the runner (issue 10): no check
knows refinery or Flyway by name; what differs is `Runner.rules` (runners/rules_model.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from migration_gate.runners.flyway import FlywayRunner
from migration_gate.runners.flyway_settings import FlywaySettings
from migration_gate.runners.model import Kind, ParsedMigration, Version
from migration_gate.runners.refinery import RefineryRunner, refinery_version

CHECKS = Path(__file__).resolve().parents[1] / "migration_gate" / "checks"
#: What a runner-specific code path in a check looks like.
BRANCHES = re.compile(
    r"from migration_gate import refinery|migration_gate\.refinery\b|is_refinery"
    r"|runner\.name\s*[=!]=|isinstance\([^)]*(RefineryRunner|FlywayRunner)"
)


@pytest.mark.parametrize("module", ["folder.py", "history.py", "history_versions.py"])
def test_the_checks_never_branch_on_the_runner(module: str) -> None:
    text = (CHECKS / module).read_text(encoding="utf-8")
    assert not BRANCHES.findall(text)


def test_the_twins_are_gone() -> None:
    assert not (CHECKS / "flyway_history.py").exists()
    assert "def check_" not in (CHECKS / "flyway_folder.py").read_text(encoding="utf-8")


def _parsed(runner: RefineryRunner | FlywayRunner, file_name: str) -> ParsedMigration:
    parsed = runner.parse_name(file_name)
    assert isinstance(parsed, ParsedMigration), parsed
    return parsed


def test_each_runner_tells_duplicates_apart_its_own_way() -> None:
    """refinery keys its history table by version alone (`V5` and `U5` clash); Flyway by
    version per kind (`V5` and its undo `U5` do not); a callback is never a duplicate."""
    refinery = RefineryRunner()
    assert refinery.rules.identity(_parsed(refinery, "V5__a.sql")) == refinery.rules.identity(
        _parsed(refinery, "U5__b.sql"))
    flyway = FlywayRunner(FlywaySettings())
    assert flyway.rules.identity(_parsed(flyway, "V5__a.sql")) != flyway.rules.identity(
        _parsed(flyway, "U5__a.sql"))
    callback = _parsed(flyway, "beforeMigrate.sql")
    assert callback.kind is Kind.CALLBACK
    assert flyway.rules.identity(callback) is None


def test_each_runner_words_its_versions_and_fixes() -> None:
    """The same question, each runner's answer: refinery writes `V`-prefixed, padded
    versions; Flyway plain numbers and its own file names."""
    view = _Plain()
    refinery, flyway = RefineryRunner(), FlywayRunner(FlywaySettings())
    assert refinery.rules.number_label(view, 8) == "V8"
    assert flyway.rules.number_label(view, 8) == "8"
    assert refinery.rules.renamed_fix(view, "p", _parsed(refinery, "V2__add.sql")) == (
        "V9__add.sql")
    assert flyway.rules.renamed_fix(view, "p", _parsed(flyway, "V2__add_x.sql"), 4) == (
        "V4__add_x.sql")


class _Plain:
    """A folder without padding whose next free version is 9 (`FolderView`)."""

    def take_version(self, path: str) -> Version:
        return refinery_version(9)

    def others(self, rel: str) -> list[ParsedMigration]:
        return []

    def in_folder_style(self, version: Version) -> Version:
        return version
