"""The git-aware gate end to end: real repositories, the real command line.

One repository is built per module: `main` holds V001..V007 and every scenario of the issue is a
branch checked out in its own worktree, so the scenarios share one set-up and never disturb
each other. `--no-verify` keeps the database stage out: these tests are about the folder and
history rules, and assertions only look at those rules' findings.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from migration_gate import baseconfig
from migration_gate.catalog import all_rules
from migration_gate.checks import flyway_folder, folder, history
from tests.conftest import Repo, clean_env, make_repo, run_gate, seed_migrations

#: The rules of the folder and history stages (other stages' findings are ignored here).
GIT_RULES = {doc.id for doc in (*folder.RULES, *history.RULES, *flyway_folder.RULES,
                                  *baseconfig.RULES)
             if doc.needs == "git"}
ROBUST_SQL = "CREATE TABLE IF NOT EXISTS {table} (id bigint PRIMARY KEY);\n"


def gate_json(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str]:
    """Run `check --format json` and return (exit code, document, stderr)."""
    done = run_gate("check", "--no-verify", "--format", "json", *args, cwd=cwd, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    document = json.loads(done.stdout) if done.returncode in (0, 1) else None
    return done.returncode, document, done.stderr


def test_git_rules_are_the_catalogues_rules_that_need_only_git() -> None:
    assert {rule.id for rule in all_rules().values() if rule.needs == "git"} == GIT_RULES


def findings(document: Any) -> list[dict[str, Any]]:
    return [d for d in document["diagnostics"] if d["rule"] in GIT_RULES]


def by_rule(document: Any) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for diagnostic in findings(document):
        grouped.setdefault(diagnostic["rule"], []).append(diagnostic)
    return grouped


def said(document: Any, rule: str) -> list[dict[str, Any]]:
    """Each finding of `rule`, also where it was folded into another finding of the same cause
    (`version-not-after-base` into the `duplicate-version` of a reused version): then as its
    related entry, with the survivor's hint (the one fix both share)."""
    found: list[dict[str, Any]] = []
    for diagnostic in findings(document):
        if diagnostic["rule"] == rule:
            found.append(diagnostic)
        found.extend({**related, "hint": diagnostic["hint"]}
                     for related in diagnostic.get("related", ()) if related["rule"] == rule)
    return found


def _branch(repo: Repo, root: Path, name: str, change: Any) -> Path:
    """A branch off main, changed by `change(worktree_repo)`, committed, in its own worktree."""
    worktree = root / name
    repo.git("worktree", "add", "-q", "-b", name, str(worktree), "main")
    tree = Repo(worktree)
    change(tree)
    tree.commit(name)
    return worktree


def _rename(tree: Repo, old: str, new: str) -> None:
    tree.git("mv", f"migrations/{old}", f"migrations/{new}")


def _move(tree: Repo, name: str, folder: str) -> None:
    (tree.path / "migrations" / folder).mkdir()
    _rename(tree, name, f"{folder}/{name}")


SCENARIOS: dict[str, Any] = {
    "add-v008": lambda t: t.write(
        "migrations/V008__add_profiles.sql", ROBUST_SQL.format(table="profiles")
    ),
    "dup-v007": lambda t: t.write("migrations/V007__x.sql", ROBUST_SQL.format(table="x")),
    "add-v005": lambda t: t.write("migrations/V005__add_index.sql", ROBUST_SQL.format(table="i")),
    "add-v010": lambda t: t.write("migrations/V010__add_orders.sql", ROBUST_SQL.format(table="o")),
    "edit-v003": lambda t: t.write(
        "migrations/V003__create_table_3.sql",
        "CREATE TABLE IF NOT EXISTS table_3 (id bigint PRIMARY KEY);\n"
        "ALTER TABLE table_3 ADD COLUMN IF NOT EXISTS name text;\n",
    ),
    "delete-v002": lambda t: t.git("rm", "-q", "migrations/V002__create_table_2.sql"),
    "rename-v004": lambda t: _rename(t, "V004__create_table_4.sql", "V004__create_table_four.sql"),
    "move-v004": lambda t: _move(t, "V004__create_table_4.sql", "archive"),
    "bad-names": lambda t: [
        t.write(f"migrations/{name}", "SELECT 1;\n")
        for name in ("v8__x.sql", "V8-x.sql", "V1.5__x.sql", "V9__a-b.sql")
    ],
    "merge-a": lambda t: t.write("migrations/V008__add_a.sql", ROBUST_SQL.format(table="a")),
    "merge-b": lambda t: t.write("migrations/V008__add_b.sql", ROBUST_SQL.format(table="b")),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gate")
    repo = make_repo(root / "main")
    seed_migrations(repo)
    trees = {"main": repo.path}
    for name, change in SCENARIOS.items():
        trees[name] = _branch(repo, root, name, change)
    # `trunk` (a copy of main) merges merge-a first; merge-b, started before, is checked after
    trunk = root / "trunk"
    repo.git("worktree", "add", "-q", "-b", "trunk", str(trunk), "main")
    Repo(trunk).git("merge", "-q", "--no-ff", "merge-a", "-m", "merge a")
    trees["trunk"] = trunk
    return trees


def test_added_v008_is_clean(project: dict[str, Path]) -> None:
    code, document, _ = gate_json(project["add-v008"], "--base", "main")
    assert code == 0
    assert findings(document) == []


def test_duplicate_v007_names_file_rule_and_fix(project: dict[str, Path]) -> None:
    code, document, _ = gate_json(project["dup-v007"], "--base", "main")
    assert code == 1
    grouped = by_rule(document)
    # one finding naming both files: the one to rename, the other as related
    (duplicate,) = grouped["duplicate-version"]
    duplicate_paths = {duplicate["path"], *(r["path"] for r in duplicate["related"])}
    assert duplicate_paths == {"migrations/V007__x.sql", "migrations/V007__create_table_7.sql"}
    # one cause (the version the branch picked), one finding: a reused version is at or below
    # the base's highest, and that verdict travels as related information, not a second error
    assert "version-not-after-base" not in grouped
    assert [(r["rule"], r["path"]) for r in duplicate["related"]
            if r["rule"] == "version-not-after-base"] == [
        ("version-not-after-base", "migrations/V007__x.sql")]
    new_file = [d for d in grouped["duplicate-version"] if d["path"].endswith("V007__x.sql")]
    assert new_file[0]["hint"] == "rename to V008__x.sql"


def test_duplicate_in_text_output_as_a_user_sees_it(project: dict[str, Path]) -> None:
    done = run_gate("check", "--no-verify", "--base", "main", cwd=project["dup-v007"])
    assert done.returncode == 1
    assert "migrations/V007__x.sql" in done.stdout
    assert "duplicate-version" in done.stdout
    assert "version-not-after-base" not in done.stdout  # folded into the duplicate (one cause)
    assert "rename to V008__x.sql" in done.stdout
    assert "\033[" not in done.stdout  # not a terminal: no colour


def test_version_below_base(project: dict[str, Path]) -> None:
    code, document, _ = gate_json(project["add-v005"], "--base", "main")
    assert code == 1
    grouped = by_rule(document)
    [finding] = said(document, "version-not-after-base")
    assert finding["path"] == "migrations/V005__add_index.sql"
    assert finding["hint"] == "rename to V008__add_index.sql"
    (duplicate,) = grouped["duplicate-version"]
    assert {duplicate["path"], *(r["path"] for r in duplicate["related"])} == {
        "migrations/V005__add_index.sql", "migrations/V005__create_table_5.sql",
    }


@pytest.mark.slow
def test_version_gap_is_a_warning(project: dict[str, Path]) -> None:
    code, document, _ = gate_json(project["add-v010"], "--base", "main")
    assert code == 0
    [gap] = findings(document)
    assert gap["rule"] == "version-gap" and gap["severity"] == "warning"
    assert "V008–V009" in gap["message"]
    assert gap["hint"] == "rename to V008__add_orders.sql"
    code, _, _ = gate_json(project["add-v010"], "--base", "main", "--fail-on", "warning")
    assert code == 1


def test_edited_migration_at_first_changed_line(project: dict[str, Path]) -> None:
    code, document, _ = gate_json(project["edit-v003"], "--base", "main")
    assert code == 1
    [modified] = findings(document)
    assert modified["rule"] == "modified-migration"
    assert modified["path"] == "migrations/V003__create_table_3.sql"
    assert modified["line"] == 2
    assert "V008__update_create_table_3.sql" in modified["hint"]


def test_deleted_migration(project: dict[str, Path]) -> None:
    code, document, _ = gate_json(project["delete-v002"], "--base", "main")
    assert code == 1
    [deleted] = findings(document)
    assert deleted["rule"] == "deleted-migration"
    assert deleted["path"] == "migrations/V002__create_table_2.sql"
    assert "V2__create_table_2 is missing from the filesystem" in deleted["message"]
    assert "git checkout" in deleted["hint"]


@pytest.mark.slow
def test_renamed_migration(project: dict[str, Path]) -> None:
    code, document, _ = gate_json(project["rename-v004"], "--base", "main")
    assert code == 1
    [renamed] = findings(document)
    assert renamed["rule"] == "renamed-migration"
    assert renamed["path"] == "migrations/V004__create_table_four.sql"
    assert renamed["hint"] == "rename it back to V004__create_table_4.sql"


def test_base_file_moved_to_subfolder_is_no_finding(project: dict[str, Path]) -> None:
    """refinery walks the folder recursively: same name and content elsewhere is the same."""
    code, document, _ = gate_json(project["move-v004"], "--base", "main")
    assert code == 0
    assert findings(document) == []


def test_misnamed_files_get_corrected_names(project: dict[str, Path]) -> None:
    code, document, _ = gate_json(project["bad-names"], "--base", "main")
    assert code == 1
    got = {d["path"].rsplit("/", 1)[1]: (d["rule"], d["hint"]) for d in findings(document)}
    assert got.keys() == {"v8__x.sql", "V8-x.sql", "V1.5__x.sql", "V9__a-b.sql"}
    assert got["V1.5__x.sql"][0] == "invalid-version"
    for name in ("v8__x.sql", "V8-x.sql", "V9__a-b.sql"):
        assert got[name][0] == "invalid-filename"
    hints = sorted(hint for _, hint in got.values())
    # four distinct fixes, the next free versions, each keeping the file's description
    assert sorted(h.split("__")[0] for h in hints) == [
        "rename to V008", "rename to V009", "rename to V010", "rename to V011",
    ]
    assert got["V9__a-b.sql"][1].endswith("__a_b.sql")
    assert got["v8__x.sql"][1].endswith("__x.sql")


@pytest.mark.slow
def test_second_branch_flagged_after_first_merged(project: dict[str, Path]) -> None:
    code, document, _ = gate_json(project["merge-b"], "--base", "trunk")
    assert code == 1
    [finding] = [d for d in findings(document) if d["rule"] == "version-not-after-base"]
    assert finding["path"] == "migrations/V008__add_b.sql"
    assert "V008__add_a.sql" in finding["message"]
    assert finding["hint"] == "rename to V009__add_b.sql"
    # the plan puts this branch's V008 at V009, so a new migration comes after it
    next_version = run_gate("next-version", "--base", "trunk", cwd=project["merge-b"])
    assert next_version.stdout.strip() == "V010"


def test_first_branch_still_clean_against_old_main(project: dict[str, Path]) -> None:
    """The branch that merged first is its own content on main: no finding."""
    code, document, _ = gate_json(project["merge-a"], "--base", "trunk")
    assert code == 0, document
    assert findings(document) == []


def test_detached_head(project: dict[str, Path], tmp_path: Path) -> None:
    repo = Repo(project["main"])
    detached = tmp_path / "detached"
    repo.git("worktree", "add", "-q", "--detach", str(detached), "dup-v007")
    code, document, _ = gate_json(detached)
    assert code == 1
    assert said(document, "version-not-after-base")


def test_json_shape(project: dict[str, Path]) -> None:
    code, document, _ = gate_json(project["dup-v007"], "--base", "main")
    assert code == 1
    assert document["tool"] == "migration-gate"
    assert isinstance(document["version"], str) and document["version"]
    assert set(document["summary"]) >= {"errors", "warnings", "files"}
    assert document["summary"]["errors"] == sum(
        1 for d in document["diagnostics"] if d["severity"] == "error"
    )
    for diagnostic in document["diagnostics"]:
        assert set(diagnostic) - {"related"} == {  # related: only on a merged finding
            "rule", "severity", "path", "line", "column", "end_line", "end_column", "message",
            "hint",
        }
        assert diagnostic["line"] >= 1 and diagnostic["column"] >= 1
        assert not diagnostic["path"].startswith("/")


def test_paths_relative_to_repository_root_from_a_subfolder(project: dict[str, Path]) -> None:
    inside = project["dup-v007"] / "migrations"
    code, document, _ = gate_json(inside, "--dir", ".", "--base", "main")
    assert code == 1
    assert "migrations/V007__x.sql" in {d["path"] for d in findings(document)}


def test_default_base_is_main(project: dict[str, Path]) -> None:
    code, document, _ = gate_json(project["add-v005"])
    assert code == 1
    assert said(document, "version-not-after-base")


def test_missing_explicit_base_is_exit_2(project: dict[str, Path]) -> None:
    done = run_gate("check", "--no-verify", "--base", "no-such-branch", cwd=project["add-v008"])
    assert done.returncode == 2
    assert "no-such-branch" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_only_master(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", branch="master")
    seed_migrations(repo)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V006__again.sql", "SELECT 1;\n")
    repo.commit()
    code, document, _ = gate_json(repo.path)
    assert code == 1
    [finding] = said(document, "version-not-after-base")
    assert "master" in finding["message"]


def test_no_repository_runs_folder_rules_only(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    (project / "migrations").mkdir(parents=True)
    (project / "migrations" / "V1__init.sql").write_text("SELECT 1;\n")
    (project / "migrations" / "v2__bad.sql").write_text("SELECT 1;\n")
    code, document, stderr = gate_json(project)
    assert code == 1
    assert [d["rule"] for d in findings(document)] == ["invalid-filename"]
    assert "not a git repository" in stderr
    done = run_gate("check", "--no-verify", "--base", "main", cwd=project)
    assert done.returncode == 2
    assert "--base" in done.stderr and "git repository" in done.stderr
    assert "Traceback" not in done.stderr


def test_first_commit_not_made_yet(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    repo.write("migrations/V1__init.sql", "SELECT 1;\n")
    code, document, stderr = gate_json(repo.path)
    assert code == 0, stderr
    assert findings(document) == []
    assert "no commit yet" in stderr


# --- clones: shallow, single-branch, GITHUB_BASE_REF -------------------------------------


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """An upstream with main (V001..V007, several commits), develop (adds V008), a feature
    branch off main that adds another V007, and pr-merge (feature merged into main)."""
    repo = make_repo(tmp_path_factory.mktemp("origin") / "upstream")
    seed_migrations(repo)
    for number in range(3):
        repo.write(f"docs/note{number}.txt", f"{number}\n")
        repo.commit(f"docs {number}")
    repo.git("checkout", "-q", "-b", "develop")
    repo.write("migrations/V008__develop.sql", ROBUST_SQL.format(table="d"))
    repo.commit("develop")
    repo.git("checkout", "-q", "-b", "feature", "main")
    repo.write("migrations/V007__x.sql", ROBUST_SQL.format(table="x"))
    repo.commit("feature")
    repo.git("checkout", "-q", "main")
    repo.write("docs/after.txt", "main moved on\n")
    repo.commit("main moves on")
    # what GitHub checks out for a pull request: feature merged into main's tip
    repo.git("checkout", "-q", "-b", "pr-merge", "main")
    repo.git("merge", "-q", "--no-ff", "feature", "-m", "Merge feature into main")
    repo.git("checkout", "-q", "main")
    return repo


def _clone(origin: Repo, target: Path, *options: str) -> Repo:
    subprocess.run(
        ["git", "clone", "-q", *options, f"file://{origin.path}", str(target)],
        check=True, env=clean_env(), capture_output=True,
    )
    return Repo(target)


def test_shallow_clone_fetches_its_base(origin: Repo, tmp_path: Path) -> None:
    clone = _clone(origin, tmp_path / "shallow", "--depth", "1", "--branch", "feature")
    assert clone.git("rev-parse", "--is-shallow-repository") == "true"
    assert "origin/main" not in clone.git("branch", "-r")
    code, document, stderr = gate_json(clone.path)
    assert code == 1, stderr
    [finding] = said(document, "version-not-after-base")
    assert finding["path"] == "migrations/V007__x.sql"
    assert finding["hint"] == "rename to V008__x.sql"
    assert "origin/main" in finding["message"]


def test_pull_request_merge_commit_checkout(origin: Repo, tmp_path: Path) -> None:
    """GitHub's default: the PR's merge commit, depth 1, detached, GITHUB_BASE_REF=main."""
    clone = _clone(origin, tmp_path / "pr", "--depth", "1", "--branch", "pr-merge")
    clone.git("checkout", "-q", "--detach")
    clone.git("branch", "-q", "-D", "pr-merge")
    code, document, stderr = gate_json(clone.path, env={"GITHUB_BASE_REF": "main"})
    assert code == 1, stderr
    [finding] = said(document, "version-not-after-base")
    assert finding["path"] == "migrations/V007__x.sql"
    assert "origin/main" in finding["message"]


def test_shallow_clone_without_reachable_remote_names_the_git_command(
    origin: Repo, tmp_path: Path
) -> None:
    clone = _clone(origin, tmp_path / "cut", "--depth", "1", "--branch", "feature")
    clone.git("remote", "set-url", "origin", str(tmp_path / "gone"))
    done = run_gate("check", "--no-verify", cwd=clone.path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "git fetch" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("depth", [[], ["--depth", "1"]], ids=["full", "shallow"])
def test_base_main_in_a_clone_without_local_main(
    origin: Repo, tmp_path: Path, depth: list[str]
) -> None:
    """The issue's "done when": a clone of a branch adding V007__x.sql, `check --base main`."""
    clone = _clone(origin, tmp_path / "clone", *depth, "--branch", "feature")
    assert clone.git("branch", "--list", "main") == ""
    done = run_gate("check", "--no-verify", "--base", "main", cwd=clone.path)
    assert done.returncode == 1, done.stderr
    assert "migrations/V007__x.sql" in done.stdout
    assert "duplicate-version" in done.stdout
    assert "rename to V008__x.sql" in done.stdout
    # one plan: V007__x.sql goes to V008, so the next new migration is V009
    named = run_gate("next-version", "--base", "main", "add profiles", cwd=clone.path)
    assert named.stdout.strip() == "V009__add_profiles.sql"


def test_shallow_clone_whose_merge_base_cannot_be_fetched(origin: Repo, tmp_path: Path) -> None:
    clone = _clone(origin, tmp_path / "deep", "--depth", "1", "--no-single-branch",
                   "--branch", "feature")
    assert clone.git("rev-parse", "--verify", "-q", "origin/main")
    clone.git("remote", "set-url", "origin", str(tmp_path / "gone"))
    done = run_gate("check", "--no-verify", cwd=clone.path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "shallow" in done.stderr and "git fetch --unshallow origin" in done.stderr


def test_github_base_ref_selects_the_base(origin: Repo, tmp_path: Path) -> None:
    clone = _clone(origin, tmp_path / "ci")
    clone.git("checkout", "-q", "-b", "topic", "origin/develop")
    clone.write("migrations/V008__topic.sql", ROBUST_SQL.format(table="t"))
    clone.git("rm", "-q", "migrations/V008__develop.sql")
    clone.commit()
    # against develop the branch deleted V008__develop; against main it adds a fresh V008
    code, document, _ = gate_json(clone.path, env={"GITHUB_BASE_REF": "develop"})
    assert code == 1
    grouped = by_rule(document)
    assert "deleted-migration" in grouped or "renamed-migration" in grouped
    code, document, _ = gate_json(clone.path, env={"GITHUB_BASE_REF": "main"})
    assert code == 0
    assert findings(document) == []


@pytest.mark.slow  # over 0.6 s in the fast loop
def test_next_version_all_branches_in_clone(origin: Repo, tmp_path: Path) -> None:
    clone = _clone(origin, tmp_path / "all")
    assert run_gate("next-version", cwd=clone.path).stdout.strip() == "V008"
    done = run_gate("next-version", "--all-branches", cwd=clone.path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "V009"  # origin/develop already holds V008
    named = run_gate("next-version", "--all-branches", "add profiles", cwd=clone.path)
    assert named.stdout.strip() == "V009__add_profiles.sql"


# --- colour -------------------------------------------------------------------------------


def _run_on_terminal(cwd: Path, env: dict[str, str]) -> str:
    """Run the gate with stdout on a pseudo-terminal and return what it printed."""
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "migration_gate", "check", "--no-verify", "--base", "main"],
            cwd=cwd, env=clean_env(env), stdout=secondary, stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
    finally:
        os.close(primary)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_only_on_a_terminal_and_never_with_no_color(project: dict[str, Path]) -> None:
    coloured = _run_on_terminal(project["dup-v007"], {})
    assert "\033[31m" in coloured and "duplicate-version" in coloured
    plain = _run_on_terminal(project["dup-v007"], {"NO_COLOR": "1"})
    assert "duplicate-version" in plain
    assert "\033[" not in plain
