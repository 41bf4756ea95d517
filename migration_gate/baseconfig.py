"""The base's configuration governs a run that has a base (issue 13.4).

A pull request must not control its own gate: with `exclude: ["*"]` it would check nothing,
with `postgres.bin-dir` pointing at a script of its own it would have the gate run that script.
So when a base exists (a pull request, a pre-push), the configuration files are read from the
base commit through git, not from the working tree; what the branch changes in them is
reported as `config-changed` (a warning naming each key) and takes effect once merged. Without
a base (pre-commit, `lint`, outside git) the working tree's configuration applies, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from migration_gate.catalog import RuleDoc
from migration_gate.diagnostics import Diagnostic, Severity

CONFIG_CHANGED = RuleDoc(
    "config-changed", Severity.WARNING,
    "The branch changes the gate's configuration; the base's configuration governs this run.",
    "git",
    why="A pull request that could loosen its own gate (exclude every file, turn rules off, "
    "point `postgres.bin-dir` at a script it adds) would control the check meant to review "
    "it. The configuration on the base branch applies; the change takes effect after merge.",
    example="# .migration-gate.yaml, changed by the pull request\nexclude: ['*']",
    instead="Change the configuration in a pull request of its own, reviewed on its own; "
    "it applies to the pull requests after it.",
)

RULES = (CONFIG_CHANGED,)

#: Keys that name an executable or a folder of executables: never read from the branch, even
#: where a future change would let some branch settings apply before merge.
BINARY_KEYS = frozenset({"postgres.bin_dir"})


class GitReader:
    """Reads files as they are in `commit` (a `config.Reader`); files outside the repository
    (an explicit `--config` elsewhere) are not the branch's, and are read from disk.

    `folder`: the migrations folder (repository-relative), listed by the same `ls-tree` as
    the configuration's files; None: the files are read without listing them first. A plain
    class: a dataclass costs every run's import ~0.5 ms (issue 16)."""

    def __init__(self, root: Path, commit: str, folder: str | None = None) -> None:
        self.root = root
        self.commit = commit
        self.folder = folder
        self._cache: dict[Path, bytes | None] = {}

    def __call__(self, path: Path) -> bytes | None:
        from migration_gate.config import read_working_tree

        absolute = path if path.is_absolute() else (Path.cwd() / path)
        try:
            absolute.resolve().relative_to(self.root)  # inside the repository?
        except ValueError:
            return read_working_tree(path)
        if absolute not in self._cache:
            # the configuration files of one folder are asked for one after the other: read
            # them all in the same `cat-file --batch`, one git process instead of several
            from migration_gate.config import CONFIG_FILE_NAMES, RUNNER_FILES

            folder = absolute.resolve().parent
            siblings = [folder / name for name in
                        (*CONFIG_FILE_NAMES, "pyproject.toml", *RUNNER_FILES)]
            wanted = [absolute, *(p for p in siblings if p != absolute.resolve()
                                  and p not in self._cache)]
            rels = [p.resolve().relative_to(self.root).as_posix() for p in wanted]
            for path, content in zip(wanted, self._read(wanted, rels), strict=True):
                self._cache.setdefault(path, content)
        return self._cache[absolute]

    def _read(self, paths: list[Path], rels: list[str]) -> list[bytes | None]:
        """The files as the commit has them (None: it has none). With `folder`, they are
        listed first, in the migrations folder's `ls-tree`: a file the commit lacks is None
        and one whose blob is the working tree's file is those bytes, without a git process;
        only the others are read (`cat-file`). Nearly always none is: a run then starts one
        git process fewer (issue 16)."""
        from migration_gate.gitbase import cat_blobs

        if self.folder is None:
            return cat_blobs(self.root, [f"{self.commit}:{rel}" for rel in rels])
        from migration_gate.gittree import SYMLINK_MODE, blob_id, listing_with

        listed = listing_with(self.root, self.commit, self.folder, rels)
        result: list[bytes | None] = [None] * len(rels)
        unread = []
        for index, (path, rel) in enumerate(zip(paths, rels, strict=True)):
            entry = listed.get(rel)
            if entry is None:
                continue  # not in the commit (or not a file there): as `cat_blobs` says
            here = _bytes_of(path) if entry[1] != SYMLINK_MODE else None
            if here is not None and blob_id(here, sha256=len(entry[0]) == 64) == entry[0]:
                result[index] = here
            else:
                unread.append(index)
        if unread:
            contents = cat_blobs(self.root, [f"{self.commit}:{rels[i]}" for i in unread])
            for index, content in zip(unread, contents, strict=True):
                result[index] = content
        return result


def _bytes_of(path: Path) -> bytes | None:
    """The working tree's file, or None (missing, a folder, unreadable: git is asked then)."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def _flat(settings: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Normalised key → (the key as written, its value as comparable text)."""
    import json  # only when configurations are compared: a check imports it nowhere else

    flat: dict[str, tuple[str, str]] = {}
    for raw_key, value in settings.items():
        key = str(raw_key).replace("-", "_")
        if isinstance(value, Mapping) and key in ("postgres", "replay"):
            for sub_key, sub_value in value.items():
                name = f"{key}.{str(sub_key).replace('-', '_')}"
                flat[name] = (f"{raw_key}.{sub_key}", json.dumps(sub_value, sort_keys=True,
                                                                   default=str))
        else:
            flat[key] = (str(raw_key), json.dumps(value, sort_keys=True, default=str))
    return flat


def changed_keys(base: Mapping[str, Any], branch: Mapping[str, Any]) -> list[str]:
    """The keys (as the branch or the base writes them) whose value differs, added or removed."""
    old, new = _flat(base), _flat(branch)
    changed = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key, ("", None))[1] != new.get(key, ("", None))[1]:
            changed.append((new.get(key) or old[key])[0])
    return changed


def config_changes(
    base_tables: Iterable[tuple[Path, str, dict[str, Any]]],
    branch_tables: Iterable[tuple[Path, str, dict[str, Any]]],
    root: Path,
) -> list[Diagnostic]:
    """One `config-changed` finding per configuration file the branch changes."""
    from migration_gate.basefiles import relative_to

    old = {path.resolve(): settings for path, _, settings in base_tables}
    new = {path.resolve(): settings for path, _, settings in branch_tables}
    found = []
    for path in sorted(old.keys() | new.keys()):
        keys = changed_keys(old.get(path, {}), new.get(path, {}))
        if not keys:
            continue
        named = ", ".join(f"`{key}`" for key in keys)
        binary = [k for k in keys if k.replace("-", "_") in BINARY_KEYS]
        extra = (f"; {', '.join(binary)} names a program to run and is only ever read from "
                 "the base") if binary else ""
        found.append(Diagnostic(
            CONFIG_CHANGED.id, CONFIG_CHANGED.severity, relative_to(path, root),
            f"this branch changes {named} in {path.name}: the base's configuration governs "
            f"this check and the change applies after merge{extra}",
            hint="review the configuration change on its own; the base's settings are used "
            "until it is merged",
        ))
    return found
