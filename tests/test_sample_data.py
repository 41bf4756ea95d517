"""The sample of real migrations in tests/data: consistent with its manifest and README, still
covering what the tests rely on, read by refinery's rules as refinery would, and (when the full
corpus is at hand) a byte-exact copy of it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from migration_gate.refinery import MigrationName, NameIssue, NameProblem, parse_file_name
from tests.conftest import DATA
from tests.corpus import SAMPLE, corpus_files, full_corpus, project_folder, read_manifest


def test_manifest_matches_the_files_on_disk() -> None:
    listed = {f.path for f in corpus_files(SAMPLE)}
    on_disk = {p for p in (SAMPLE / "repos").rglob("*") if p.is_file()}
    assert listed == on_disk  # no file outside the manifest's folders, none missing
    for project in read_manifest(SAMPLE):
        base = project_folder(SAMPLE, project["repo"])
        folders = [base / folder for folder in project["migration_dir"]]
        count = sum(len(list(folder.rglob("*.sql"))) for folder in folders)
        assert count == project["files"], project["repo"]
    assert 40 <= len(listed) <= 80
    assert sum(p.stat().st_size for p in listed) < 400_000


def test_readme_gives_every_files_origin_and_licence() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for project in read_manifest(SAMPLE):
        section = readme.split(f"### [{project['repo']}]", 1)[1].split("\n### ", 1)[0]
        assert project["commit"] in section and project["license"] in section
        base = project_folder(SAMPLE, project["repo"])
        for file in corpus_files(SAMPLE):
            if file.repo == project["repo"]:
                assert f"`{file.path.relative_to(base).as_posix()}`" in section, file.rel


def _names_and_texts() -> list[tuple[str, str, str]]:
    return [(f.path.name, f.text(), f.dialect) for f in corpus_files(SAMPLE)]


@pytest.mark.parametrize(
    ("what", "found"),
    [
        ("DO $$ block", lambda n, t, d: re.search(r"\bDO\s+\$\$", t) is not None),
        ("CONCURRENTLY", lambda n, t, d: "CONCURRENTLY" in t.upper()),
        ("explicit BEGIN", lambda n, t, d: re.search(r"^\s*BEGIN\b[^;]*;", t, re.M) is not None),
        ("${placeholder}", lambda n, t, d: re.search(r"\$\{[\w:.]+\}", t) is not None),
        ("SQLite trigger", lambda n, t, d: d == "sqlite" and "CREATE TRIGGER" in t.upper()),
        ("MySQL", lambda n, t, d: d == "mysql"),
        ("Norwegian letters", lambda n, t, d: re.search("[æøå]", n) is not None),
        ("no final newline", lambda n, t, d: not t.endswith("\n")),
        ("`-` in a Flyway name", lambda n, t, d: re.match(r"V\d+__[\w-]*-", n) is not None),
        ("dotted version", lambda n, t, d: re.match(r"V\d+\.\d", n) is not None),
        ("R__ file", lambda n, t, d: n.startswith("R__")),
        ("file over 100 KB", lambda n, t, d: len(t.encode()) > 100_000),
    ],
)
def test_the_sample_still_covers(what: str, found: Callable[[str, str, str], bool]) -> None:
    assert any(found(*entry) for entry in _names_and_texts()), what


def _parsed(file_name: str) -> MigrationName | NameProblem:
    [match] = [f for f in corpus_files(SAMPLE) if f.path.name == file_name]
    return parse_file_name(match.path.name)


@pytest.mark.parametrize(
    ("file_name", "version", "name"),
    [
        ("V56__påvent.sql", 56, "påvent"),
        ("V57__vilkårsvurdering.sql", 57, "vilkårsvurdering"),
        ("V00__gcp_tilgang.sql", 0, "gcp_tilgang"),
    ],
)
def test_real_names_refinery_accepts(file_name: str, version: int, name: str) -> None:
    parsed = _parsed(file_name)
    assert isinstance(parsed, MigrationName), parsed
    assert (parsed.version, parsed.name) == (version, name)


@pytest.mark.parametrize(
    ("file_name", "issue"),
    [
        ("V58__læremidler-utbetalingsdato.sql", NameIssue.NO_MATCH),  # `-` ends `\w+`
        ("V125__legg_til_kolonnen_avsluttet_i_klage-tabellen.sql", NameIssue.NO_MATCH),
        ("V1.3__init.sql", NameIssue.INVALID_VERSION),  # matches `\d+(\.\d+)?`, not an integer
        ("V1.0.45__grant_privs_to_reader_user.sql", NameIssue.NO_MATCH),  # two dots
        ("V1_95_2__referral_details_unique_index.sql", NameIssue.NO_MATCH),
        ("R__Datasets_view.sql", NameIssue.NO_MATCH),
        ("20240214170259__add_external_users_to_cas2_notes.sql", NameIssue.NO_MATCH),
        ("NTV20240321_0001__GA-28_replacement_index_for_case_access_groups.sql",
         NameIssue.NO_MATCH),
    ],
)
def test_real_flyway_names_refinery_skips_or_refuses(file_name: str, issue: NameIssue) -> None:
    parsed = _parsed(file_name)
    assert isinstance(parsed, NameProblem) and parsed.issue is issue, parsed


def test_the_sample_is_a_byte_exact_copy_of_the_corpus() -> None:
    corpus = full_corpus()
    for file in corpus_files(SAMPLE):
        assert (corpus / file.rel).read_bytes() == file.path.read_bytes(), file.rel
    projects = {p["repo"]: p for p in read_manifest(corpus)}
    for entry in read_manifest(SAMPLE):
        origin = projects[entry["repo"]]
        for key in ("commit", "dialect", "tool", "license"):
            assert entry[key] == origin[key], (entry["repo"], key)
        assert set(entry["migration_dir"]) <= set(origin["migration_dir"])
        assert 0 < entry["files"] <= origin["files"]
