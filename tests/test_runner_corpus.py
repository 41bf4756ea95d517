"""The runner detection and the Flyway folder rules measured on the real-world corpus.

`MIGRATION_GATE_CORPUS` names the corpus folder (its `MANIFEST.json` gives each project's
migration folders and the tool that applies them); without it the tests are skipped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from migration_gate.choose_runner import detect
from migration_gate.config import Config
from migration_gate.migrations import discover
from migration_gate.pipeline import CheckContext
from migration_gate.runners import RUNNERS, ParsedMigration, RunnerChoice
from migration_gate.sources import NamesOnly, WorkingTree

CORPUS = os.environ.get("MIGRATION_GATE_CORPUS")
pytestmark = pytest.mark.skipif(not CORPUS, reason="MIGRATION_GATE_CORPUS is not set")


def folders() -> list[tuple[str, Path, Path]]:
    """(tool, project copy, migrations folder) for every folder of the manifest."""
    assert CORPUS is not None
    root = Path(CORPUS)
    manifest: list[dict[str, Any]] = json.loads((root / "MANIFEST.json").read_text())
    found = []
    for entry in manifest:
        project = root / "repos" / str(entry["repo"]).replace("/", "__")
        for folder in entry["migration_dir"]:
            found.append((str(entry["tool"]), project, project / folder))
    return found


def test_the_detected_runner_is_the_manifests_tool_for_every_folder() -> None:
    wrong = []
    all_folders = folders()
    for tool, project, folder in all_folders:
        rels = [m.rel for m in discover(NamesOnly(WorkingTree(folder)), folder_path=".")]
        name, reason, _conf = detect(folder, project, rels)
        if name != tool:
            wrong.append((str(folder), tool, name, reason))
    print(f"runner detection: {len(all_folders) - len(wrong)}/{len(all_folders)} folders right")
    assert not wrong, wrong


def test_no_name_flyway_accepts_is_flagged_in_flyway_folders() -> None:
    from migration_gate.checks.folder import check_folder

    runner = RUNNERS["flyway"]
    accepted = flagged_total = 0
    flagged_accepted = []
    for tool, project, folder in folders():
        if tool != "flyway":
            continue
        rel = folder.relative_to(project).as_posix()
        local = discover(WorkingTree(folder), folder_path=rel, runner=runner)
        context = CheckContext(
            config=Config(project_dir=project), root=project, repo_root=None, folder=rel,
            local=local, runner_choice=RunnerChoice(runner, "the manifest"),
        )
        ok = {m.path for m in local if isinstance(m.runner_parsed, ParsedMigration)}
        accepted += len(ok)
        for diagnostic in check_folder(context):
            if diagnostic.rule in ("invalid-filename", "invalid-version"):
                flagged_total += 1
                if diagnostic.path in ok:
                    flagged_accepted.append(diagnostic.path)
    print(f"Flyway folders: {accepted} names Flyway accepts, {len(flagged_accepted)} of them "
          f"flagged invalid; {flagged_total} invalid-name findings in all")
    assert accepted > 0
    assert not flagged_accepted, flagged_accepted


def test_flyway_folders_concurrently_follows_flyways_script_decision() -> None:
    """Every `CONCURRENTLY` in the corpus's Flyway folders is in a script Flyway runs without a
    transaction (68 refinery-style errors before the rules asked the runner), and a
    `prefer-robust-stmts` finding there names Flyway's mechanism, never refinery's."""
    from migration_gate.choose_runner import choose
    from migration_gate.sql.stage import sql_stage

    robust = concurrent = 0
    wrong_words = []
    for tool, project, folder in folders():
        if tool != "flyway":
            continue
        rel = folder.relative_to(project).as_posix()
        names = [m.rel for m in discover(NamesOnly(WorkingTree(folder)), folder_path=".")]
        choice = choose(folder, project, names, configured=None, flag=None)
        local = discover(WorkingTree(folder), folder_path=rel, runner=choice.runner)
        context = CheckContext(
            config=Config(project_dir=project), root=project, repo_root=None, folder=rel,
            local=local, lint_all=True, runner_choice=choice,
        )
        for diagnostic in sql_stage(context):
            if diagnostic.rule == "ban-concurrent-index-creation-in-transaction":
                concurrent += 1
            elif diagnostic.rule == "prefer-robust-stmts":
                robust += 1
                if "refinery" in diagnostic.message + (diagnostic.hint or ""):
                    wrong_words.append(diagnostic.path)
    print(f"Flyway folders: {robust} prefer-robust-stmts, {concurrent} CONCURRENTLY findings")
    assert concurrent == 0
    assert robust > 1000  # the default transactional lock keeps the crash window
    assert not wrong_words, wrong_words
