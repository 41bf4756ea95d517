"""refinery checksums follow the `int8-versions` setting in `list` and `modified-migration`
(the version is hashed as 8 bytes instead of 4: turning the feature on changes every
checksum), and the README's `list` example shows the real checksum of its file."""

from __future__ import annotations

import json
import re
from pathlib import Path

from migration_gate import refinery
from tests.conftest import make_repo

ROOT = Path(__file__).resolve().parents[1]
V1 = b"CREATE TABLE a (id int);\n"
V1_EDITED = b"CREATE TABLE a (id bigint);\n"


def test_list_and_modified_migration_hash_the_version_as_int8_versions_says(
        tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    repo.write("migrations/V1__a.sql", V1)
    repo.write(".migration-gate.yaml", "int8-versions: true\n")
    repo.commit("V1")
    int8 = refinery.checksum("a", 1, V1, int8_versions=True)
    assert int8 != refinery.checksum("a", 1, V1)  # the setting matters for this file

    listed = repo.gate("list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert [row["checksum"] for row in json.loads(listed.stdout)] == [str(int8)]

    repo.git("checkout", "-q", "-b", "edit")
    repo.write("migrations/V1__a.sql", V1_EDITED)
    done = repo.gate("check", "--no-verify", "--base", "main", "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    [modified] = [d for d in json.loads(done.stdout)["diagnostics"]
                  if d["rule"] == "modified-migration"]
    edited = refinery.checksum("a", 1, V1_EDITED, int8_versions=True)
    assert f"(refinery checksum {int8} → {edited})" in modified["message"]


def test_the_readmes_list_example_shows_its_files_real_checksum() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    block = readme[readme.index("$ migration-gate list --format json"):]
    path = re.search(r'"path": "(migrations/[^"]+)"', block)
    shown = re.search(r'"checksum": "(\d+)"', block)
    assert path is not None and shown is not None
    file = ROOT / "examples" / path.group(1)
    name = refinery.parse_file_name(file.name)
    assert isinstance(name, refinery.MigrationName)
    assert int(shown.group(1)) == refinery.checksum(name.name, name.version, file.read_bytes())
