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
from collections.abc import Callable, Mapping
from pathlib import Path

from migration_gate.cachedir import cache_root as cache_root
from migration_gate.ephemeral.restorecopy import MANIFEST as MANIFEST
from migration_gate.ephemeral.restorecopy import restore as restore


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


def store(prepared: Path, final: Path, version: str, like: Path | None = None,
          shared: Mapping[str, int] | None = None) -> None:
    """Copy `prepared` into the cache as `final`, atomically (concurrent gates may race), with
    its manifest written last. `like` and `shared` (from `split_changed`): the cache entry the
    data folder was started from, and the files it shares with it (with their sizes) --
    hard-linked from there, `prepared` holding only the others. If one is gone meanwhile
    (another gate pruned `like`), nothing is stored: the entry would have holes."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".{final.name}.{os.getpid()}.{threading.get_ident()}"
    shutil.rmtree(staging, ignore_errors=True)
    files = None
    if like is None or shared is None:
        copy_tree(prepared, staging)
    else:
        files = {**_sizes(prepared), **shared}
        try:
            _link_shared(like, prepared, staging, shared)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            return
    write_manifest(staging, version, files)
    try:
        os.rename(staging, final)
    except OSError:  # another gate stored it first
        shutil.rmtree(staging, ignore_errors=True)


def _link_shared(like: Path, changed: Path, staging: Path, shared: Mapping[str, int]) -> None:
    """Fill `staging` with the files of `shared` hard-linked from `like` and the folder
    `changed` copied over them.

    Why `cp` in child processes where it can: this runs in a thread while the gate replays
    the branch, and a Python loop of 4,500 `link` calls waited for the interpreter lock after
    each one (0.3 s instead of 0.05 s). `cp -al` links all of `like`; what is not shared is
    then unlinked (never written through: it is `like`'s file too) and `changed` copied in."""
    cp = shutil.which("cp")
    if cp is None or not sys.platform.startswith("linux") or subprocess.run(
            [cp, "-al", "--", str(like), str(staging)], capture_output=True).returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        copy_tree(changed, staging)
        for rel in shared:
            os.link(f"{like}/{rel}", f"{staging}/{rel}")
        return
    for dirpath, _dirnames, filenames in os.walk(staging):
        rel_dir = os.path.relpath(dirpath, staging)
        for name in filenames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if rel not in shared:
                os.unlink(os.path.join(dirpath, name))
    done = subprocess.run([cp, "-a", "--", f"{changed}/.", str(staging)], capture_output=True)
    if done.returncode != 0:
        raise OSError(f"cp failed: {done.stderr.decode(errors='replace').strip()}")


def split_changed(source: Path, target: Path, like: Path) -> dict[str, int]:
    """Copy into `target` the folders of `source` and its files that differ from the cache
    entry `like`; the files that do not (to be hard-linked from `like` by `store`), with their
    sizes. The same is the same size and modification time to the nanosecond (`source` was
    restored from `like` keeping them, and a file the server wrote since has a new one --
    rsync's quick check).

    Why: a base that gained one migration changes a few catalog files of a folder of thousands
    (40 of 4,500 files, 14 of 69 MB, for 3,000 migrations). Copying the whole folder aside
    before the server restarts, then again into the cache, cost more than the rest of the
    run. Cache entries are never written in place (a run copies its entry out, a damaged one
    is renamed away and deleted), so sharing their files is safe."""
    shared: dict[str, int] = {}
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        folder, into = f"{source}/{rel_dir}", f"{target}/{rel_dir}"
        os.mkdir(into)
        shutil.copymode(folder, into)
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = f"{rel_dir}{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    pending.append(f"{rel}/")
                    continue
                mine = entry.stat(follow_symlinks=False)
                try:
                    theirs = os.lstat(f"{like}/{rel}")
                except OSError:
                    theirs = None
                if (theirs is not None and stat.S_ISREG(mine.st_mode)
                        and stat.S_ISREG(theirs.st_mode)
                        and (mine.st_size, mine.st_mtime_ns)
                        == (theirs.st_size, theirs.st_mtime_ns)):
                    shared[rel] = mine.st_size
                else:
                    shutil.copy2(entry.path, f"{target}/{rel}", follow_symlinks=False)
    return shared


def _sizes(folder: Path) -> dict[str, int]:
    """Every file of `folder` (but the manifest) and its size, by relative path."""
    files = {}
    for dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if rel != MANIFEST:
                files[rel] = path.lstat().st_size
    return files


def write_manifest(folder: Path, version: str, files: Mapping[str, int] | None = None
                   ) -> None:
    """The manifest of `folder`: `files` (each file and its size) when known, else listed."""
    listed = dict(files) if files is not None else _sizes(folder)
    manifest = {"format": 1, "version": version, "files": listed}
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
