"""Real-world migrations for the tests: the sample kept in `tests/data/sample`, and the whole
corpus when the environment variable `MIGRATION_GATE_CORPUS` names it.

Both have the same shape (`MANIFEST.json` and `repos/<owner>__<name>/<path>`), so one reader
serves both: a test written for the sample runs unchanged over the 3,128 files of the corpus.
The corpus is not part of the repository; without the variable the tests that need it are
skipped with a reason that `pytest -ra` shows, never silently.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from migration_gate.types import Dialect
from tests.conftest import DATA

#: The environment variable naming the full corpus (a folder with MANIFEST.json and repos/).
CORPUS_ENV = "MIGRATION_GATE_CORPUS"

#: The sample of the corpus kept in the repository (tests/data/README.md lists every file).
SAMPLE = DATA / "sample"


@dataclass(frozen=True)
class CorpusFile:
    """One migration of a corpus, with the dialect its project applies it to."""

    path: Path  # on disk
    rel: str  # relative to the corpus root: repos/<owner>__<name>/<path in the repository>
    repo: str  # owner/name
    dialect: Dialect  # postgres | mysql | sqlite (DuckDB is read as postgres)

    def text(self) -> str:
        return self.path.read_bytes().decode("utf-8")


def read_manifest(root: Path) -> list[dict[str, Any]]:
    projects: list[dict[str, Any]] = json.loads(
        (root / "MANIFEST.json").read_text(encoding="utf-8"))
    return projects


def project_folder(root: Path, repo: str) -> Path:
    return root / "repos" / repo.replace("/", "__")


def _dialect(project: dict[str, Any], folder: str) -> Dialect:
    """A project's folder's dialect: mixed projects keep one folder per dialect, named so."""
    if "sqlite" in folder or project["dialect"] == "sqlite":
        return "sqlite"
    if "mysql" in folder or project["dialect"] == "mysql":
        return "mysql"
    return "postgres"


def corpus_files(root: Path) -> list[CorpusFile]:
    """Every `.sql` file of every migration folder of the manifest, in a stable order."""
    files = []
    for project in read_manifest(root):
        base = project_folder(root, project["repo"])
        for folder in project["migration_dir"]:
            dialect = _dialect(project, folder)
            for path in sorted((base / folder).rglob("*.sql")):
                rel = path.relative_to(root).as_posix()
                files.append(CorpusFile(path, rel, project["repo"], dialect))
    return files


def full_corpus() -> Path:
    """The whole corpus, or a skip saying how to get it. A variable that names a folder
    without a manifest is a broken set-up, so it fails rather than skips."""
    value = os.environ.get(CORPUS_ENV, "").strip()
    if not value:
        pytest.skip(f"{CORPUS_ENV} not set: the real-world corpus (3,128 migrations) is not "
                    "part of this repository; point the variable at it to run this test "
                    "(.ci/run does when it is checked out beside the repository)")
    root = Path(value)
    if not (root / "MANIFEST.json").is_file():
        pytest.fail(f"{CORPUS_ENV}={value} has no MANIFEST.json")
    return root
