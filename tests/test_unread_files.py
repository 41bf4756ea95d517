"""The working-tree files git vouches are unchanged since the merge-base are not read (issue 16).

`worktree_index.unchanged_in_worktree` asks one `git ls-files` which files of the folder are cached,
unmodified and the base's blob; `discover` makes those without reading them. A wrong
"unchanged" would hide an edited migration, so every way a file can differ is built here in a
real repository, and the run's findings are compared with a run that reads every file: the
same gate with an empty index (`GIT_INDEX_FILE` naming a file that does not exist), where git
vouches for nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from migration_gate.migrations import WorkingTree, discover
from migration_gate.worktree_index import unchanged_in_worktree
from tests.conftest import Repo, make_repo, run_gate

SQL = "CREATE TABLE IF NOT EXISTS t{n} (id bigint PRIMARY KEY);\n"


def _base(path: Path, count: int = 10) -> Repo:
    """main: V001..V0NN; checked out: feature, which adds V0NN+1."""
    repo = make_repo(path)
    for n in range(1, count + 1):
        repo.write(f"migrations/V{n:03d}__t{n}.sql", SQL.format(n=n))
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(f"migrations/V{count + 1:03d}__t{count + 1}.sql", SQL.format(n=count + 1))
    repo.commit("feature")
    return repo


def _merge_base(repo: Repo) -> str:
    return repo.git("merge-base", "HEAD", "main")


def _touch(path: Path) -> None:
    """A new modification time, the bytes unchanged (an editor's save, a `git checkout`)."""
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 5_000_000_000))


def _same_size_edit(path: Path) -> None:
    """Different bytes of the same size, the modification time put back: only the change
    time (and git's racy-entry check, or its hash of a stat-dirty file) can tell."""
    status = path.stat()
    data = path.read_bytes()
    path.write_bytes(data.replace(b"bigint", b"BIGINT"))
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))


def _every_kind_of_change(repo: Repo) -> None:
    """V001 touched, V002 edited, V003 edited and staged, V004 edited under assume-unchanged,
    V005 edited under skip-worktree, V006 deleted, V007 renamed, V008 a link to a copy of its
    bytes, V009 edited to the same size, V010 touched then edited back to its own bytes,
    V012 untracked and edited, V011 (the branch's) touched."""
    folder = repo.path / "migrations"
    _touch(folder / "V001__t1.sql")
    (folder / "V002__t2.sql").write_text(SQL.format(n=2) + "-- edited\n")
    (folder / "V003__t3.sql").write_text(SQL.format(n=3) + "-- staged\n")
    repo.git("add", "migrations/V003__t3.sql")
    repo.git("update-index", "--assume-unchanged", "migrations/V004__t4.sql")
    (folder / "V004__t4.sql").write_text(SQL.format(n=4) + "-- hidden from git status\n")
    repo.git("update-index", "--skip-worktree", "migrations/V005__t5.sql")
    (folder / "V005__t5.sql").write_text(SQL.format(n=5) + "-- skipped by git\n")
    (folder / "V006__t6.sql").unlink()
    (folder / "V007__t7.sql").rename(folder / "V007__table_seven.sql")
    copy = repo.write("elsewhere/V008.sql", SQL.format(n=8))
    (folder / "V008__t8.sql").unlink()
    (folder / "V008__t8.sql").symlink_to(os.path.relpath(copy, folder))
    _same_size_edit(folder / "V009__t9.sql")
    original = (folder / "V010__t10.sql").read_bytes()
    (folder / "V010__t10.sql").write_bytes(original + b"-- for a moment\n")
    (folder / "V010__t10.sql").write_bytes(original)
    _touch(folder / "V011__t11.sql")
    (folder / "V012__t12.sql").write_text("SELECT 1;\n")
    (folder / "V012__t12.sql").write_text(SQL.format(n=12))


def test_git_vouches_only_for_files_unchanged_since_the_base(tmp_path: Path) -> None:
    repo = _base(tmp_path / "repo")
    _every_kind_of_change(repo)
    vouched = unchanged_in_worktree(repo.path, _merge_base(repo), "migrations")
    # touched, and edited back: git hashes a stat-dirty file before it says "modified"
    assert vouched == {"V001__t1.sql", "V010__t10.sql"}


def test_a_file_the_branch_added_is_not_the_base_s(tmp_path: Path) -> None:
    repo = _base(tmp_path / "repo")
    vouched = unchanged_in_worktree(repo.path, _merge_base(repo), "migrations")
    assert vouched == {f"V{n:03d}__t{n}.sql" for n in range(1, 11)}


def test_a_vouched_file_is_read_on_use_and_equals_the_file_read_at_once(tmp_path: Path) -> None:
    repo = _base(tmp_path / "repo")
    folder = repo.path / "migrations"
    _touch(folder / "V001__t1.sql")
    vouched = unchanged_in_worktree(repo.path, _merge_base(repo), "migrations")
    assert "V001__t1.sql" in vouched
    lazy = discover(WorkingTree(folder, vouched), folder_path="migrations")
    eager = discover(WorkingTree(folder), folder_path="migrations")
    assert all("content" not in m.__dict__ for m in lazy if m.rel in vouched)
    assert lazy == eager
    assert [m.checksum for m in lazy] == [m.checksum for m in eager]
    assert lazy[0].content == SQL.format(n=1).encode()


def test_a_folder_outside_any_index_entry_gets_no_vouching(tmp_path: Path) -> None:
    """A folder whose files are all untracked: nothing to vouch for, everything is read."""
    repo = _base(tmp_path / "repo")
    repo.write("other/V001__x.sql", SQL.format(n=1))
    assert unchanged_in_worktree(repo.path, _merge_base(repo), "other") == frozenset()


def _findings(repo: Repo, *, read_everything: bool) -> tuple[int, list[dict[str, Any]]]:
    env = {"GIT_INDEX_FILE": str(repo.path / "no-index")} if read_everything else None
    done = run_gate("check", "--no-verify", "--format", "json", "--base", "main",
                    cwd=repo.path, env=env)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    document = json.loads(done.stdout)
    return done.returncode, sorted(document["diagnostics"], key=json.dumps)


def test_every_kind_of_change_gives_the_findings_of_reading_every_file(tmp_path: Path) -> None:
    repo = _base(tmp_path / "repo")
    _every_kind_of_change(repo)
    code, found = _findings(repo, read_everything=False)
    assert (code, found) == _findings(repo, read_everything=True)
    by_rule: dict[str, set[str]] = {}
    for diagnostic in found:
        by_rule.setdefault(diagnostic["rule"], set()).add(diagnostic["path"].rpartition("/")[2])
    # every edit is seen, whether git is told (staged) or not (assume-unchanged, skip-worktree)
    assert {"V002__t2.sql", "V003__t3.sql", "V004__t4.sql", "V005__t5.sql",
            "V009__t9.sql"} <= by_rule["modified-migration"]
    assert "V001__t1.sql" not in by_rule["modified-migration"]
    assert "V010__t10.sql" not in by_rule["modified-migration"]
    assert "V006__t6.sql" in by_rule["deleted-migration"]
    assert "V007__table_seven.sql" in by_rule["renamed-migration"]


def test_a_crlf_checkout_is_no_modification(tmp_path: Path) -> None:
    """`*.sql eol=crlf`: the working tree holds CRLF, the blobs LF; git vouches for the files
    (its clean conversion gives the blob), and the gate finds nothing, as when it read them."""
    repo = make_repo(tmp_path / "repo")
    repo.write(".gitattributes", "*.sql text eol=crlf\n")
    for n in range(1, 4):
        repo.write(f"migrations/V{n:03d}__t{n}.sql", SQL.format(n=n))
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    for n in range(1, 4):
        (repo.path / f"migrations/V{n:03d}__t{n}.sql").unlink()
    repo.git("checkout", "--", "migrations")
    assert b"\r\n" in (repo.path / "migrations/V001__t1.sql").read_bytes()
    repo.write("migrations/V004__t4.sql", SQL.format(n=4).replace("\n", "\r\n"))
    code, found = _findings(repo, read_everything=False)
    assert (code, found) == _findings(repo, read_everything=True)
    assert not [d for d in found if d["rule"] == "modified-migration"], found


def test_a_submodule_in_the_folder_is_never_vouched_for(tmp_path: Path) -> None:
    """The superproject's index holds the submodule's commit, not its files: those are read,
    and the findings are those of reading every file."""
    inner = make_repo(tmp_path / "inner")
    inner.write("V020__t20.sql", SQL.format(n=20))
    inner.commit("inner")
    repo = make_repo(tmp_path / "repo")
    for n in range(1, 3):
        repo.write(f"migrations/V{n:03d}__t{n}.sql", SQL.format(n=n))
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner.path),
             "migrations/sub")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    (repo.path / "migrations/sub/V020__t20.sql").write_text(SQL.format(n=20) + "-- edited\n")
    vouched = unchanged_in_worktree(repo.path, _merge_base(repo), "migrations")
    assert vouched == {"V001__t1.sql", "V002__t2.sql"}
    code, found = _findings(repo, read_everything=False)
    assert (code, found) == _findings(repo, read_everything=True)
