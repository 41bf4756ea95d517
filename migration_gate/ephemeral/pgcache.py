"""The cache of PostgreSQL data folders: the initdb template and the replayed base schemas.

Why validated: a data folder that was cut short (a full disk, a killed gate on a file system
without atomic rename), or damaged later, would make every later run fail to start the server
or replay on a schema with holes -- for ever, since the cache key does not change. So each
entry is stored with a manifest written last (every file and its size), checked before use;
a damaged entry is discarded and rebuilt, and the note about it names the folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from migration_gate.ephemeral.restorecopy import MANIFEST as MANIFEST
from migration_gate.ephemeral.restorecopy import restore as restore


def cache_root() -> Path:
    """`$MIGRATION_GATE_CACHE_DIR`, else the user cache folder (XDG)."""
    explicit = os.environ.get("MIGRATION_GATE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "migration-gate"


def template_path(bin_dir: Path, version: str) -> Path:
    digest = hashlib.sha256(str(bin_dir.resolve()).encode()).hexdigest()[:8]
    return cache_root() / f"pgdata2-{version}-{digest}"  # 2: with a manifest


def copy_tree(source: Path, target: Path) -> None:
    """A fast recursive copy (coreutils `cp -a` when present; it is several times faster)."""
    cp = shutil.which("cp")
    if cp is not None and sys.platform.startswith("linux"):
        done = subprocess.run([cp, "-a", "--", str(source), str(target)], capture_output=True)
        if done.returncode == 0:
            return
        shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True)


def store(prepared: Path, final: Path, version: str, like: Path | None = None) -> None:
    """Copy `prepared` into the cache as `final`, atomically (concurrent gates may race), with
    its manifest written last. `like`: the cache entry `prepared` was started from, whose
    unchanged files are shared (`link_unchanged`)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".{final.name}.{os.getpid()}.{threading.get_ident()}"
    shutil.rmtree(staging, ignore_errors=True)
    if like is not None and like.is_dir():
        link_unchanged(prepared, staging, like)
    else:
        copy_tree(prepared, staging)
    write_manifest(staging, version)
    try:
        os.rename(staging, final)
    except OSError:  # another gate stored it first
        shutil.rmtree(staging, ignore_errors=True)


def link_unchanged(source: Path, target: Path, like: Path) -> None:
    """Copy `source` to `target`, hard-linking from the cache entry `like` each file that is
    the same there: same size and same modification time to the nanosecond (`source` was
    copied from `like` with `cp -a`, which keeps them, and a file the server wrote since has a
    new one -- rsync's quick check).

    Why: a base that gained one migration changes a few catalog files of a folder of thousands
    (110 MB for 3,000 migrations); writing all of it to the cache's disk again cost more than
    the whole warm check. Cache entries are never written in place (a run copies its entry
    out, a damaged one is renamed away and deleted), so sharing their files is safe."""
    for dirpath, _dirnames, filenames in os.walk(source):
        folder = Path(dirpath)
        rel_dir = folder.relative_to(source)
        (target / rel_dir).mkdir(parents=True, exist_ok=True)
        shutil.copymode(folder, target / rel_dir)
        for name in filenames:
            rel = rel_dir / name
            if rel.as_posix() != MANIFEST and _same_file(folder / name, like / rel):
                try:
                    os.link(like / rel, target / rel)
                    continue
                except OSError:
                    pass  # another file system, or `like` pruned meanwhile: copy
            shutil.copy2(folder / name, target / rel, follow_symlinks=False)


def _same_file(path: Path, other: Path) -> bool:
    try:
        mine, theirs = path.lstat(), other.lstat()
    except OSError:
        return False
    return (stat.S_ISREG(mine.st_mode) and stat.S_ISREG(theirs.st_mode)
            and (mine.st_size, mine.st_mtime_ns) == (theirs.st_size, theirs.st_mtime_ns))


def write_manifest(folder: Path, version: str) -> None:
    files = {}
    for dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if rel != MANIFEST:
                files[rel] = path.lstat().st_size
    manifest = {"format": 1, "version": version, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")


def discard(folder: Path) -> None:
    """Remove a cache entry: renamed away first (atomic: no other gate starts from a half-deleted
    folder), then deleted."""
    doomed = folder.parent / f".{folder.name}.discarded.{os.getpid()}.{threading.get_ident()}"
    try:
        os.rename(folder, doomed)
    except OSError:
        doomed = folder
    shutil.rmtree(doomed, ignore_errors=True)


def prune_cache(prefix: str, keep: int, alive: Callable[[int], bool]) -> None:
    """Keep only the `keep` most recently used cache entries starting with `prefix`, and drop
    the half-written or discarded copies of gates that are gone."""
    root = cache_root()
    try:
        entries = list(root.iterdir())
    except OSError:
        return
    for entry in entries:
        parts = entry.name.split(".")
        dead = len(parts) >= 4 and parts[-2].isdigit() and not alive(int(parts[-2]))
        if entry.name.startswith(".") and dead:
            shutil.rmtree(entry, ignore_errors=True)
    kept = [p for p in entries if p.name.startswith(prefix)]
    with contextlib.suppress(OSError):
        kept.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in kept[keep:]:
        shutil.rmtree(stale, ignore_errors=True)
