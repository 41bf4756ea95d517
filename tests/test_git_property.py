"""Whatever state the repository is in, an edited merged migration never passes (issue 13's
"done when").

Each generated state holds a base branch with merged migrations and a checkout that edits one
of them; around that, it varies what can go wrong or merely be unusual: objects missing from
the database, a repository owned by another user, odd file and folder names, a detached HEAD,
the edit committed or only in the working tree, a shallow clone whose remote is there or gone.
The gate must answer exit 1 with `modified-migration` on the edited file, or exit 2 with one
line -- never exit 0. An intact, reachable state must be exit 1: stopping is not a way out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Repo, clean_env, make_repo, one_line_error, run_gate

STRANGER = 12345
EDIT = "ALTER TABLE t2 ADD COLUMN IF NOT EXISTS c text;\n"


@dataclass(frozen=True)
class State:
    base: str  # the base branch
    folder: str  # the migrations folder
    edited: str  # the edited migration, relative to the folder
    committed: bool  # the edit is a commit on the branch (else only in the working tree)
    detached: bool
    clone: str  # "" (work in the repository itself), "shallow", "shallow-cut"
    missing: str  # an object deleted from the database: "", "edited-blob", "tip", "other-blob"
    stranger: bool  # the checkout is owned by another user

    @property
    def intact(self) -> bool:
        return self.clone != "shallow-cut" and self.missing in ("", "other-blob") and (
            not self.stranger
        )


states = st.builds(
    State,
    base=st.sampled_from(["main", "master", "trunk"]),
    folder=st.sampled_from(["migrations", "db/mïgrations x"]),
    edited=st.sampled_from(["V002__t2.sql", "V002__ünïcödé.sql", "sub dir/V002__x.sql",
                            ".hidden/V002__y.sql"]),
    committed=st.booleans(),
    detached=st.booleans(),
    clone=st.sampled_from(["", "", "shallow", "shallow-cut"]),
    missing=st.sampled_from(["", "", "edited-blob", "tip", "other-blob"]),
    stranger=st.booleans() if os.geteuid() == 0 else st.just(False),
)


def build(where: Path, state: State) -> tuple[Repo, list[str]]:
    """The state on disk: (where to run the gate, its arguments)."""
    upstream = make_repo(where / "upstream", branch=state.base)
    folder = state.folder
    upstream.write(f"{folder}/V001__t1.sql", "CREATE TABLE IF NOT EXISTS t1 (id int);\n")
    upstream.write(f"{folder}/{state.edited}", "CREATE TABLE IF NOT EXISTS t2 (id int);\n")
    upstream.write(f"{folder}/V003__t3.sql", "CREATE TABLE IF NOT EXISTS t3 (id int);\n")
    upstream.commit("base")
    upstream.git("checkout", "-q", "-b", "feature")
    upstream.write(f"{folder}/V004__t4.sql", "CREATE TABLE IF NOT EXISTS t4 (id int);\n")
    if state.committed:
        upstream.write(f"{folder}/{state.edited}", f"-- {state.base}\n" + EDIT)
    upstream.commit("feature")
    work = upstream
    if state.clone:
        upstream.git("checkout", "-q", state.base)  # the remote's default is the base
        target = where / "clone"
        subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "feature",
                        f"file://{upstream.path}", str(target)],
                       check=True, env=clean_env(), capture_output=True)
        work = Repo(target)
        if state.clone == "shallow-cut":
            work.git("remote", "set-url", "origin", str(where / "gone"))
    if not state.committed:
        work.write(f"{folder}/{state.edited}", f"-- {state.base}\n" + EDIT)
    if state.detached:
        work.git("checkout", "-q", "--detach")
    if state.missing and not state.clone:
        _delete_object(work, state)
    if state.stranger:
        for parent, dirs, files in os.walk(work.path):
            for name in (parent, *(os.path.join(parent, n) for n in (*dirs, *files))):
                os.lchown(name, STRANGER, STRANGER)
    args = ["--dir", folder] if folder != "migrations" else []
    if state.base == "trunk":
        args += ["--base", "trunk"]
    return work, args


def _delete_object(repo: Repo, state: State) -> None:
    spec = {
        "edited-blob": f"{state.base}:{state.folder}/{state.edited}",
        "tip": state.base,
        "other-blob": f"{state.base}:{state.folder}/V001__t1.sql",
    }[state.missing]
    obj = repo.git("rev-parse", spec)
    (repo.path / ".git" / "objects" / obj[:2] / obj[2:]).unlink()


@pytest.mark.slow
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(state=states)
def test_an_edited_merged_migration_never_passes(tmp_path_factory: Any, state: State) -> None:
    where = tmp_path_factory.mktemp("state")
    try:
        work, args = build(where, state)
        done = run_gate("check", "--no-verify", *args, cwd=work.path)
        if done.returncode == 1:
            edited = f"{state.folder}/{state.edited}"
            assert any("modified-migration" in line and edited in line
                       for line in done.stdout.splitlines()), done.stdout
        else:
            one_line_error(done)  # exit 2, one line, no traceback
            assert not state.intact, (state, done.stderr)
    finally:
        shutil.rmtree(where, ignore_errors=True)
