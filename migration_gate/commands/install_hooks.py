"""`migration-gate install-hooks`: the plain git hooks, for teams without the pre-commit framework.

The scripts live in the package (`migration_gate/githooks/`, their one copy) so that an
installed gate can install them. They go where git looks for hooks (`core.hooksPath` when set,
else `.git/hooks`), and a hook already there is never overwritten: the install is refused, or
with `--chain` the old hook is kept as `<hook>.previous` and the gate's hook runs it first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.console import print_raw
from migration_gate.diagnostics import GateError

if TYPE_CHECKING:
    from argparse import ArgumentParser

HOOK_NAMES = ("pre-commit", "pre-push")
#: The line every migration-gate hook carries, so that a reinstall recognises its own hooks.
MARKER = "# migration-gate: git hook"


def hook_script(name: str) -> str:
    return (resources.files("migration_gate") / "githooks" / name).read_text(encoding="utf-8")


def hooks_directory(cwd: Path) -> Path:
    """Where git runs hooks from: `core.hooksPath` when set (relative to the work tree)."""
    from migration_gate import gitbase

    root = gitbase.repository_root(cwd)
    if root is None:
        reason = "git is not installed" if not gitbase.git_available() else "not a git repository"
        raise GateError(f"cannot install hooks: {reason} ({cwd})")
    output = gitbase.run_git(["rev-parse", "--git-path", "hooks"], root)
    return (root / output.decode("utf-8", "surrogateescape").strip()).resolve()


@dataclass(frozen=True)
class Plan:
    """What to do with one hook: `write`, `chain` (keep the old one first) or `same`."""

    name: str
    target: Path
    action: str


def plan_hook(name: str, target: Path, script: str, chain: bool) -> Plan:
    """Decide without writing, so that a refusal leaves every hook as it was."""
    if not target.exists() and not target.is_symlink():
        return Plan(name, target, "write")
    try:
        current = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        current = ""
    if current == script:
        return Plan(name, target, "same")
    if MARKER in current:
        return Plan(name, target, "write")  # an older migration-gate hook: update it
    previous = target.with_name(f"{name}.previous")
    if not chain:
        raise GateError(
            f"{target} already exists and is not migration-gate's; rerun with --chain to keep "
            f"it (it then runs first, as {previous.name}), or merge the two by hand"
        )
    if previous.exists() or previous.is_symlink():
        raise GateError(f"cannot chain {target}: {previous} exists already")
    return Plan(name, target, "chain")


def apply_plan(plan: Plan, script: str) -> str:
    """Carry out one plan; returns the line that tells the user what happened."""
    if plan.action == "same":
        return f"{plan.target}: already installed"
    plan.target.parent.mkdir(parents=True, exist_ok=True)
    extra = ""
    if plan.action == "chain":
        previous = plan.target.with_name(f"{plan.name}.previous")
        os.replace(plan.target, previous)
        extra = f" (your previous hook, now {previous.name}, runs first)"
    temporary = plan.target.with_name(f".{plan.name}.migration-gate.tmp")
    temporary.write_text(script, encoding="utf-8")
    temporary.chmod(0o755)
    os.replace(temporary, plan.target)
    return f"{plan.target}: installed{extra}"


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--hook", dest="hooks", action="append", default=[],
                        choices=HOOK_NAMES,
                        help="Install only this hook (repeatable; default: pre-commit and "
                        "pre-push).")
    parser.add_argument("--chain", action="store_true",
                        help="Keep an existing hook as HOOK.previous and run it before the gate.")


def install_hooks(hooks: tuple[str, ...], chain: bool) -> None:
    """Install the gate's git hooks (pre-commit: check; pre-push: check against the remote base).

    Honours core.hooksPath. An existing hook that is not migration-gate's is never overwritten:
    the install is refused, or kept and chained with --chain.
    """
    directory = hooks_directory(Path.cwd())
    names = hooks or HOOK_NAMES
    scripts = {name: hook_script(name) for name in names}
    plans = [plan_hook(name, directory / name, scripts[name], chain) for name in names]
    for plan in plans:
        print_raw(apply_plan(plan, scripts[plan.name]))
