"""The base's configuration governs a run with a base (issue 13.4): real repositories, the real
command line. A pull request cannot loosen its own gate nor have it run a program of its own;
what it changes is reported as `config-changed` and applies after merge."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo, make_repo, seed_migrations
from tests.pgserver_fixture import gate_env

#: A migration the gate always finds something in: a lock on a table of the base.
LOCKING = "ALTER TABLE table_1 ADD COLUMN note text NOT NULL DEFAULT now();\n"
#: Stands in for PostgreSQL's binaries: running any of them leaves a marker file.
FAKE_POSTGRES = ("#!/bin/sh\ntouch \"$(dirname \"$0\")/../../RAN\"\n"
                 "echo 'postgres (PostgreSQL) 16.2'\n")


def report(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode in (0, 1), done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def rules(document: dict[str, Any]) -> list[str]:
    return [d["rule"] for d in document["diagnostics"]]


def pull_request(path: Path, config: str, extra: dict[str, str] | None = None) -> Repo:
    """main with V001..V003 and a configuration; `feature` adds a locking V004 and changes
    the configuration to `config` (committed, as a pull request's head is)."""
    repo = make_repo(path)
    repo.write(".migration-gate.yaml", "fail-on: error\n")
    seed_migrations(repo, count=3)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V004__add_note.sql", LOCKING)
    repo.write(".migration-gate.yaml", config)
    for rel, content in (extra or {}).items():
        repo.write(rel, content)
    repo.commit("feature")
    return repo


@pytest.mark.slow
def test_excluding_everything_in_the_branch_still_gets_the_findings(tmp_path: Path) -> None:
    repo = pull_request(tmp_path / "repo", 'fail-on: error\nexclude: ["*"]\nrules:\n'
                        '  require-lock-timeout: "off"\n')
    done = repo.gate("check", "--no-verify", "--base", "main", "--format", "json")
    document = report(done)
    assert document["summary"]["files"] == 4  # not "No findings in 0 files"
    found = rules(document)
    assert "config-changed" in found
    assert [r for r in found if r != "config-changed"], found  # the V004 findings are there
    changed = next(d for d in document["diagnostics"] if d["rule"] == "config-changed")
    assert changed["path"] == ".migration-gate.yaml" and changed["severity"] == "warning"
    assert "`exclude`" in changed["message"] and "`rules`" in changed["message"]
    assert "`fail-on`" not in changed["message"]  # unchanged keys are not named
    # the text report says it too, pointing at the file
    text = repo.gate("check", "--no-verify", "--base", "main", "--format", "text")
    assert ".migration-gate.yaml:1:1 config-changed warning" in text.stdout


def test_an_unchanged_configuration_is_no_finding(tmp_path: Path) -> None:
    repo = pull_request(tmp_path / "repo", "fail-on: error\n")
    document = report(repo.gate("check", "--no-verify", "--base", "main", "--format", "json"))
    assert "config-changed" not in rules(document)


@pytest.mark.slow
def test_a_bin_dir_set_by_the_branch_is_never_run(tmp_path: Path, gate_cache: Path) -> None:
    extra = {name: FAKE_POSTGRES for name in ("tools/pg/initdb", "tools/pg/postgres")}
    repo = pull_request(tmp_path / "repo", "fail-on: error\npostgres:\n  bin-dir: tools/pg\n",
                        extra)
    for name in ("initdb", "postgres"):
        (repo.path / "tools/pg" / name).chmod(0o755)
    marker = repo.path / "RAN"
    done = repo.gate("check", "--verify", "--base", "main", "--format", "json",
                     env=gate_env(gate_cache))
    assert not marker.exists(), "the branch's bin-dir was run"
    document = report(done)
    changed = [d for d in document["diagnostics"] if d["rule"] == "config-changed"]
    assert len(changed) == 1 and "`postgres.bin-dir`" in changed[0]["message"]
    assert "only ever read from the base" in changed[0]["message"]

    # the control: the same files without a base (no git) take the working tree's settings,
    # and the fake binaries run: the test above could have failed
    plain = tmp_path / "plain"
    shutil.copytree(repo.path, plain, ignore=shutil.ignore_patterns(".git"))
    control = Repo(plain).gate("check", "--verify", "--format", "json", env=gate_env(gate_cache))
    # as root, binaries under pytest's 0700 temporary folder are refused before anything runs
    # (`pgbinaries.closed_to_server`), in a message naming them: read all the same
    ran = (plain / "RAN").exists()
    said = control.stdout + control.stderr
    assert ran or ("tools/pg cannot be run by" in said and "MIGRATION_GATE_PG_USER" in said), said


def test_without_a_base_the_working_tree_configuration_applies(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    (project / "migrations").mkdir(parents=True)
    (project / "migrations/V001__a.sql").write_text(LOCKING, encoding="utf-8")
    (project / "migrations/V002__b.sql").write_text(LOCKING, encoding="utf-8")
    (project / ".migration-gate.yaml").write_text('exclude: ["*"]\n', encoding="utf-8")
    document = report(Repo(project).gate("check", "--no-verify", "--format", "json"))
    assert document["summary"]["files"] == 0 and document["diagnostics"] == []


def test_the_base_configuration_file_of_a_subfolder_project_governs(tmp_path: Path) -> None:
    """The base's files are read at the same place as the working tree's: a project in a
    sub-folder, run from there."""
    repo = make_repo(tmp_path / "repo")
    repo.write("db/.migration-gate.yaml", "dir: migrations\n")
    seed_migrations(repo, count=2, folder="db/migrations")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("db/migrations/V003__add_note.sql", LOCKING)
    repo.write("db/.migration-gate.yaml", "dir: migrations\nexclude: ['V003*']\n")
    repo.commit("feature")
    done = repo.gate("check", "--no-verify", "--base", "main", "--format", "json",
                     cwd=repo.path / "db")
    document = report(done)
    assert document["summary"]["files"] == 3
    changed = [d for d in document["diagnostics"] if d["rule"] == "config-changed"]
    assert [d["path"] for d in changed] == ["db/.migration-gate.yaml"]


def test_a_broken_configuration_in_the_base_is_named_as_the_bases(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    repo.write(".migration-gate.yaml", "unknown-key: 1\n")
    seed_migrations(repo, count=1)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(".migration-gate.yaml", "fail-on: error\n")
    repo.commit("fix the configuration")
    done = repo.gate("check", "--no-verify", "--base", "main")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "unknown configuration key `unknown-key`" in done.stderr
    assert "the configuration at base main" in done.stderr


@pytest.mark.slow
def test_pre_commit_and_the_base_branch_itself_use_the_working_tree(tmp_path: Path) -> None:
    """Locally the author's own configuration applies: in the pre-commit framework's hooks
    (PRE_COMMIT=1) and on the base branch itself; under CI the base governs even so."""
    repo = pull_request(tmp_path / "repo", 'exclude: ["*"]\n')
    args = ("check", "--no-verify", "--base", "main", "--format", "json")
    local = report(repo.gate(*args, env={"PRE_COMMIT": "1", "CI": ""}))
    assert local["summary"]["files"] == 0 and local["diagnostics"] == []
    in_ci = report(repo.gate(*args, env={"PRE_COMMIT": "1", "CI": "true"}))
    assert in_ci["summary"]["files"] == 4 and "config-changed" in rules(in_ci)
    repo.git("checkout", "-q", "main")
    repo.write(".migration-gate.yaml", 'exclude: ["*"]\n')  # uncommitted, on main
    on_main = report(repo.gate(*args))
    assert on_main["summary"]["files"] == 0 and "config-changed" not in rules(on_main)


def test_a_config_file_the_branch_adds_and_names_with_config(tmp_path: Path) -> None:
    """`--config FILE` (the Action's `config` input) naming a file the base lacks: the base's
    defaults govern and every key of the new file is reported."""
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, count=2)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V003__add_note.sql", LOCKING)
    repo.write("gate.yaml", 'exclude: ["*"]\n')
    repo.commit("feature")
    document = report(repo.gate("check", "--no-verify", "--base", "main", "--config",
                                "gate.yaml", "--format", "json"))
    assert document["summary"]["files"] == 3
    changed = [d for d in document["diagnostics"] if d["rule"] == "config-changed"]
    assert [d["path"] for d in changed] == ["gate.yaml"]
    assert "`exclude`" in changed[0]["message"]
