"""The README's install line, in the shape a team pastes it, into fresh virtual environments.

The package is on no index: the line installs a release from the repository,
`'migration-gate[postgres] @ git+https://github.com/OWNER/migration-gate@v0.1.0'`. Here the
repository is a `git clone` of this checkout's snapshot, installed both as a path
(`'<clone>[postgres]'`) and as the README's `name[extra] @ git+URL@tag` form (a `file://` URL
instead of GitHub's), each followed by a real check with the replay the extra provides.
"""

from __future__ import annotations

import re
import subprocess
import venv
from pathlib import Path

import pytest

from tests.conftest import CHECKOUT, Repo, clean_env, make_repo, seed_migrations
from tests.pgserver_fixture import gate_env

README = (CHECKOUT / "README.md").read_text(encoding="utf-8")
DOCS = [CHECKOUT / "README.md", *sorted((CHECKOUT / "docs").glob("*.md"))]
#: `install migration-gate` or `install 'migration-gate[extra]'` not followed by `@ git+URL`
BY_NAME = re.compile(r"install '?migration-gate(\[[a-z,]+\])?'?(?![\[\w-]| @ git\+)")
LINE = "'migration-gate[postgres] @ git+https://github.com/OWNER/migration-gate@v0.1.0'"


def test_the_docs_give_the_install_line_and_no_index() -> None:
    assert f"pipx install {LINE}" in README
    assert f"uv tool install {LINE}" in README
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        assert "pip install migration-gate" not in text, doc
        # a name (and extras) without `@ git+URL` would be looked up on an index
        assert not BY_NAME.search(text), doc


def fresh_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True).create(path)
    return path / "bin"


def install(bin_dir: Path, requirement: str) -> None:
    done = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", requirement],
        env=clean_env(), capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def replay_check(bin_dir: Path, project: Repo, cache: Path) -> None:
    """A check with the replay asked for: it needs the driver and the server binaries."""
    done = subprocess.run(
        [str(bin_dir / "migration-gate"), "check", "--verify", "--base", "main"],
        cwd=project.path, env=clean_env(gate_env(cache)), capture_output=True, text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "migration-failed" in done.stdout  # found by the replay alone


@pytest.fixture(scope="module")
def clone(gate_snapshot: Repo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("clone") / "migration-gate"
    subprocess.run(["git", "clone", "-q", str(gate_snapshot.path), str(target)],
                   env=clean_env(), check=True, capture_output=True)
    subprocess.run(["git", "tag", "v0.1.0"], cwd=target, env=clean_env(), check=True)
    return target


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    repo = make_repo(tmp_path_factory.mktemp("install-project") / "repo")
    seed_migrations(repo, count=2)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V003__twice.sql",
               "INSERT INTO table_1 (id) VALUES (1);\nINSERT INTO table_1 (id) VALUES (1);\n")
    repo.commit("a migration that fails only when it runs")
    return repo


@pytest.mark.slow
def test_install_from_a_clone_with_the_postgres_extra(clone: Path, project: Repo,
                                                      tmp_path: Path, gate_cache: Path) -> None:
    bin_dir = fresh_venv(tmp_path / "venv")
    install(bin_dir, f"{clone}[postgres]")
    version = subprocess.run([str(bin_dir / "migration-gate"), "--version"],
                             capture_output=True, text=True, check=True)
    assert version.stdout.startswith("migration-gate, version 0.1.0")
    replay_check(bin_dir, project, gate_cache)


@pytest.mark.slow
def test_the_readme_line_shape_with_a_git_url_and_tag(clone: Path, project: Repo,
                                                      tmp_path: Path, gate_cache: Path) -> None:
    bin_dir = fresh_venv(tmp_path / "venv")
    # `file://localhost/...`: the packaging of the pip that `venv` ships (23.x) refuses a URL
    # without a host; git reads both forms
    url = LINE.strip("'").replace("https://github.com/OWNER/migration-gate",
                                  f"file://localhost{clone}")
    assert url.startswith("migration-gate[postgres] @ git+file://localhost/")
    assert url.endswith("/migration-gate@v0.1.0")
    install(bin_dir, url)
    replay_check(bin_dir, project, gate_cache)
