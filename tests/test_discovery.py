"""Discovery as refinery walks the folder, from the working tree and from a git tree alike,
and what a user expects where the issue is silent (U and .rs files, sub-folders, hidden
folders, symlinks, moves)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migration_gate import gitbase
from migration_gate.migrations import MigrationFile, WorkingTree, discover, infer_padding
from tests.conftest import Repo, make_repo, run_gate, seed_migrations
from tests.test_git_gate import GIT_RULES

ROBUST = "CREATE TABLE IF NOT EXISTS t{n} (id bigint PRIMARY KEY);\n"


def check_json(cwd: Path, *args: str) -> tuple[int, Any]:
    done = run_gate("check", "--no-verify", "--format", "json", *args, cwd=cwd)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr
    document = json.loads(done.stdout)
    # only the folder and history rules are under test here (the SQL stage has its own tests)
    document["diagnostics"] = [d for d in document["diagnostics"] if d["rule"] in GIT_RULES]
    return done.returncode, document


def rules_at(document: Any, path: str) -> set[str]:
    """The rules said of `path`, those folded into another finding of the same cause (as its
    related entries) included."""
    return {rule for d in document["diagnostics"]
            for rule, where in ((d["rule"], d["path"]),
                                *((r["rule"], r["path"]) for r in d.get("related", ())))
            if where == path}


def snapshot(files: tuple[MigrationFile, ...]) -> list[tuple[str, str, bytes | None, int | None]]:
    return [(m.rel, m.path, m.content, m.checksum) for m in files]


def both_sources(repo: Repo) -> tuple[tuple[MigrationFile, ...], tuple[MigrationFile, ...]]:
    head = repo.git("rev-parse", "HEAD")
    on_disk = discover(WorkingTree(repo.path / "migrations"), folder_path="migrations")
    in_git = discover(gitbase.GitTree(repo.path, head, "migrations"), folder_path="migrations")
    return on_disk, in_git


def test_working_tree_and_git_tree_agree(repo: Repo) -> None:
    repo.write("migrations/V001__init.sql", ROBUST.format(n=1))
    repo.write("migrations/2024/V002__nested.sql", "SELECT 2;\r\n")
    repo.write("migrations/.archive/V003__hidden.sql", b"\xef\xbb\xbfSELECT 3;\n")
    repo.write("migrations/V004__caf\u00e9 latin.sql", "SELECT 'x';\n".encode("latin-1"))
    repo.write("migrations/V005__ünïcödé.sql", "SELECT 'ü';\n")
    repo.write("migrations/U6__repeatable.sql", "SELECT 6;\n")
    repo.write("migrations/V7__code.rs", "pub fn migration() -> String { String::new() }\n")
    repo.write("migrations/README.md", "# notes\n")
    repo.write("common/V8__target.sql", "SELECT 8;\n")
    (repo.path / "migrations" / "V008__linked.sql").symlink_to("../common/V8__target.sql")
    repo.commit()
    on_disk, in_git = both_sources(repo)
    assert snapshot(on_disk) == snapshot(in_git)
    linked = next(m for m in in_git if m.rel == "V008__linked.sql")
    assert linked.content == b"SELECT 8;\n"  # the link is followed, as refinery reads it
    assert {m.rel for m in on_disk} >= {"2024/V002__nested.sql", ".archive/V003__hidden.sql"}


names = st.text(
    st.sampled_from("abcXYZ019_-. é\u0301²"), min_size=1, max_size=8
).map(lambda s: s.strip().strip("."))


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=st.dictionaries(
    st.tuples(st.sampled_from(["", "sub/", ".hidden/", "a b/"]),
              st.sampled_from(["V", "U", "v", ""]), st.integers(0, 12), names,
              st.sampled_from([".sql", ".rs", ".SQL", ".txt"])),
    st.binary(max_size=40), max_size=6,
))
@pytest.mark.slow
def test_sources_agree_on_generated_folders(
    tmp_path_factory: Any, layout: dict[tuple[str, str, int, str, str], bytes]
) -> None:
    repo = make_repo(tmp_path_factory.mktemp("layout") / "repo")
    repo.write("migrations/.keep", "")
    for (folder, prefix, version, name, ext), content in layout.items():
        if not name:
            continue
        repo.write(f"migrations/{folder}{prefix}{version}__{name}{ext}", content)
    repo.commit()
    on_disk, in_git = both_sources(repo)
    assert snapshot(on_disk) == snapshot(in_git)


def test_git_tree_of_a_commit_without_the_folder(repo: Repo) -> None:
    repo.write("README.md", "x\n")
    head = repo.commit()
    assert discover(gitbase.GitTree(repo.path, head, "migrations"), folder_path="migrations") == ()


@pytest.mark.slow
def test_migrations_folder_added_on_the_branch(repo: Repo) -> None:
    repo.write("README.md", "x\n")
    repo.commit()
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V001__init.sql", ROBUST.format(n=1))
    repo.commit()
    code, document = check_json(repo.path, "--base", "main")
    assert code == 0 and document["diagnostics"] == []


def test_unversioned_migration(repo: Repo) -> None:
    seed_migrations(repo, count=3)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/U4__refresh_views.sql", "SELECT 1;\n")
    repo.commit()
    code, document = check_json(repo.path, "--base", "main")
    assert code == 0  # a warning
    [finding] = document["diagnostics"]
    assert finding["rule"] == "unversioned-migration"
    assert finding["hint"] == "make it versioned: rename to V004__refresh_views.sql"
    # a U file sharing a V file's version collides in the history table all the same
    repo.write("migrations/U2__again.sql", "SELECT 1;\n")
    code, document = check_json(repo.path, "--base", "main")
    assert code == 1
    assert rules_at(document, "migrations/U2__again.sql") == {
        "duplicate-version", "unversioned-migration",
    }
    hints = {d["hint"] for d in document["diagnostics"] if d["path"].endswith("U2__again.sql")}
    assert hints == {"rename to V005__again.sql", "make it versioned: rename to V005__again.sql"}


def test_rust_migration(repo: Repo) -> None:
    seed_migrations(repo, count=3)
    repo.write("migrations/V004__seed.rs", "pub fn migration() -> String { String::new() }\n")
    repo.write("migrations/mod.rs", "mod V004__seed;\n")
    code, document = check_json(repo.path)
    assert code == 0
    assert rules_at(document, "migrations/V004__seed.rs") == {"unverifiable-migration"}
    assert rules_at(document, "migrations/mod.rs") == set()
    # its version is taken all the same (embed_migrations! shares the history table)
    assert run_gate("next-version", cwd=repo.path).stdout.strip() == "V005"


def test_duplicates_across_sub_folders_and_hidden_folders(repo: Repo) -> None:
    seed_migrations(repo, count=3)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/2024/V004__a.sql", ROBUST.format(n=4))
    repo.write("migrations/.old/V004__b.sql", ROBUST.format(n=5))
    repo.commit()
    code, document = check_json(repo.path, "--base", "main")
    assert code == 1
    # one finding naming both files (the other one as related)
    (duplicate,) = [d for d in document["diagnostics"] if d["rule"] == "duplicate-version"]
    assert {duplicate["path"], *(r["path"] for r in duplicate["related"])} == {
        "migrations/2024/V004__a.sql", "migrations/.old/V004__b.sql"}
    hints = [d["hint"] for d in document["diagnostics"] if d["rule"] == "duplicate-version"]
    assert "rename to V005__b.sql" in hints or "rename to V005__a.sql" in hints


def test_symlinked_folder_is_not_followed(repo: Repo, tmp_path: Path) -> None:
    seed_migrations(repo, count=3)
    other = tmp_path / "other"
    other.mkdir()
    (other / "V009__elsewhere.sql").write_text("SELECT 1;\n")
    (repo.path / "migrations" / "linked").symlink_to(other)
    assert run_gate("next-version", cwd=repo.path).stdout.strip() == "V004"
    rows = json.loads(run_gate("list", "--format", "json", cwd=repo.path).stdout)
    assert all("elsewhere" not in r["name"] for r in rows)


@pytest.mark.slow
def test_base_file_moved_and_edited_is_modified(repo: Repo) -> None:
    seed_migrations(repo, count=3)
    repo.git("checkout", "-q", "-b", "feature")
    (repo.path / "migrations" / "old").mkdir()
    repo.git("mv", "migrations/V002__create_table_2.sql", "migrations/old/V002__create_table_2.sql")
    repo.write("migrations/old/V002__create_table_2.sql", "SELECT 'changed';\n")
    repo.commit()
    code, document = check_json(repo.path, "--base", "main")
    assert code == 1
    assert rules_at(document, "migrations/old/V002__create_table_2.sql") == {"modified-migration"}


def test_renumbered_base_migration_is_renamed(repo: Repo) -> None:
    seed_migrations(repo, count=3)
    repo.git("checkout", "-q", "-b", "feature")
    repo.git("mv", "migrations/V003__create_table_3.sql", "migrations/V004__create_table_3.sql")
    repo.commit()
    code, document = check_json(repo.path, "--base", "main")
    assert code == 1
    [finding] = document["diagnostics"]
    assert finding["rule"] == "renamed-migration"
    assert "run its SQL again" in finding["message"]


@pytest.mark.slow
def test_exclude_patterns(repo: Repo) -> None:
    seed_migrations(repo, count=2)
    repo.write("migrations/drafts/v9__idea.sql", "SELECT 1;\n")
    code, _ = check_json(repo.path)
    assert code == 1
    repo.write(".migration-gate.yaml", "exclude: ['migrations/drafts/*']\n")
    code, document = check_json(repo.path)
    assert code == 0 and document["diagnostics"] == []


def test_padding_inference() -> None:
    def files(*names: str) -> list[MigrationFile]:
        return [MigrationFile(path=n, rel=n, content=b"") for n in names]

    assert infer_padding(files("V001__a.sql", "V002__b.sql", "V010__c.sql")) == 3
    assert infer_padding(files("V1__a.sql", "V2__b.sql", "V10__c.sql")) == 0
    assert infer_padding(files("V0001__a.sql", "V1000__b.sql")) == 4
    assert infer_padding(files("V1__a.sql", "V2__b.sql", "V003__c.sql")) == 0
    assert infer_padding(files()) == 0


@given(st.permutations(
    ["V100__a.sql", "V001__b.sql", "V002__c.sql", "V3__d.sql", "V10__e.sql", "V11__f.sql"]
))
def test_padding_inference_ignores_file_order(names: list[str]) -> None:
    files = [MigrationFile(path=n, rel=n, content=b"") for n in names]
    assert infer_padding(files) == 0  # more unpadded than padded (V100 is neither)
    files.append(MigrationFile(path="V004__g.sql", rel="V004__g.sql", content=b""))
    assert infer_padding(files) == 3  # a tie goes to the padding


def test_rust_migration_below_the_base(repo: Repo) -> None:
    seed_migrations(repo, count=3)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V002__seed.rs", "pub fn migration() -> String { String::new() }\n")
    repo.commit()
    code, document = check_json(repo.path, "--base", "main")
    assert code == 1
    assert "version-not-after-base" in rules_at(document, "migrations/V002__seed.rs")


def test_naming_style_follows_the_folder(repo: Repo) -> None:
    seed_migrations(repo, count=3)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V4__AddProfiles.sql", ROBUST.format(n=4))
    repo.commit()
    code, document = check_json(repo.path, "--base", "main")
    assert code == 0
    [finding] = document["diagnostics"]
    assert finding["rule"] == "naming-style"
    assert finding["hint"] == "rename to V004__addprofiles.sql"


def test_dir_in_a_repository_run_from_outside_it(repo: Repo, tmp_path: Path) -> None:
    seed_migrations(repo, count=3)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V002__again.sql", ROBUST.format(n=2))
    repo.commit()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_gate("check", "--no-verify", "--format", "json", "--dir",
                    str(repo.path / "migrations"), "--base", "main", cwd=elsewhere)
    assert done.returncode == 1, done.stderr
    assert "version-not-after-base" in rules_at(json.loads(done.stdout),
                                                "migrations/V002__again.sql")


def test_dir_outside_the_repository(repo: Repo, tmp_path: Path) -> None:
    seed_migrations(repo, count=1)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "V1__x.sql").write_text("SELECT 1;\n")
    done = run_gate("check", "--no-verify", "--dir", str(outside), cwd=repo.path)
    assert done.returncode == 0, done.stderr  # that folder has no history: folder rules only
    assert "not a git repository" in done.stderr
    done = run_gate("check", "--no-verify", "--dir", str(outside), "--base", "main",
                    cwd=repo.path)
    assert done.returncode == 2 and "Traceback" not in done.stderr


@pytest.mark.slow
def test_end_of_line_conversion_is_no_modification(repo: Repo) -> None:
    """`*.sql eol=crlf`: git stores LF, the checkout (what gets deployed) has CRLF."""
    repo.write(".gitattributes", "*.sql text eol=crlf\n")
    repo.write("migrations/V1__a.sql", "SELECT 1;\nSELECT 2;\n")
    repo.commit()
    (repo.path / "migrations" / "V1__a.sql").unlink()
    repo.git("checkout", "--", "migrations")
    assert (repo.path / "migrations" / "V1__a.sql").read_bytes() == b"SELECT 1;\r\nSELECT 2;\r\n"
    repo.git("checkout", "-q", "-b", "feature")
    code, document = check_json(repo.path, "--base", "main")
    assert code == 0 and document["diagnostics"] == []
    with (repo.path / "migrations" / "V1__a.sql").open("ab") as handle:
        handle.write(b"SELECT 3;\r\n")
    code, document = check_json(repo.path, "--base", "main")
    assert code == 1
    [finding] = document["diagnostics"]
    assert finding["rule"] == "modified-migration" and finding["line"] == 3


@pytest.mark.slow
def test_only_changed_files_are_linted_unless_all(repo: Repo) -> None:
    """On the base branch itself nothing is new: old problems show with `--all`."""
    seed_migrations(repo, count=2)
    repo.write("migrations/v3__old_mistake.sql", "SELECT 1;\n")
    repo.commit()
    code, document = check_json(repo.path)
    assert code == 0 and document["diagnostics"] == []
    code, document = check_json(repo.path, "--all")
    assert code == 1
    assert rules_at(document, "migrations/v3__old_mistake.sql") == {"invalid-filename"}


def test_the_base_reuses_the_working_tree_files_it_holds_byte_for_byte(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`read_base` (issue 16): a base file whose blob is the working tree's file at the same
    path is that very object (parsed once per run, never read from git); an edited, a deleted
    and a renamed file are the base's own, with the base's bytes, in path order as before."""
    from migration_gate.basefiles import read_base
    from migration_gate.config import load_config
    from migration_gate.workspace import read_folder

    monkeypatch.setenv("MIGRATION_GATE_CACHE_DIR", str(tmp_path / "cache"))  # burned versions

    for number in range(1, 6):
        repo.write(f"migrations/V{number}__t{number}.sql", ROBUST.format(n=number))
    repo.commit("base")
    base_commit = repo.git("rev-parse", "HEAD")
    repo.write("migrations/V2__t2.sql", ROBUST.format(n=2) + "SELECT 2;\n")  # edited
    (repo.path / "migrations" / "V3__t3.sql").unlink()  # deleted
    (repo.path / "migrations" / "V4__t4.sql").rename(repo.path / "migrations" / "V4__four.sql")
    repo.write("migrations/V6__t6.sql", ROBUST.format(n=6))  # added

    root = repo.path.resolve()  # as `gitbase.repository_root` gives it
    config = load_config(root, stop=root)
    folder = root / "migrations"
    local = read_folder(folder, root, config)
    base = gitbase.Base(ref="main", tip=base_commit, merge_base=base_commit)
    snapshot_ = read_base(root, folder, config, base, local)

    by_rel = {m.rel: m for m in local}
    assert [m.rel for m in snapshot_.files] == [f"V{n}__t{n}.sql" for n in range(1, 6)]
    shared = [m.rel for m in snapshot_.files if by_rel.get(m.rel) is m]
    assert shared == ["V1__t1.sql", "V5__t5.sql"]
    base_bytes = {m.rel: m.content for m in snapshot_.files}
    assert base_bytes["V2__t2.sql"] == ROBUST.format(n=2).encode()
    assert base_bytes["V3__t3.sql"] == ROBUST.format(n=3).encode()
    assert base_bytes["V4__t4.sql"] == ROBUST.format(n=4).encode()
    # the same answer as discovering the base commit's folder on its own
    assert snapshot(snapshot_.files) == snapshot(
        discover(gitbase.GitTree(root, base_commit, "migrations"), folder_path="migrations"))
