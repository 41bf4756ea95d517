"""What every benchmark here shares, so that their figures compare fairly.

- Whole processes: each run is one `subprocess`, timed from before its start to after
  `os.wait4` reaped it (interpreter start-up and imports included: what a user waits for).
  `wait4` also gives the run's CPU time (user + system, children it reaped included: git,
  lint workers) and its peak resident set size.
- Alternating runs: every round runs every case once, in the same order, so that a peer tool,
  the previous release and the current code all see the same machine state; a load spike
  lands on all of them instead of on whichever ran during it.
- Medians with min–max, and the machine's load average printed with every table: on a shared
  machine a figure without its load cannot be compared with another.
- One corpus reader (`corpus_root`, `postgres_files`) for every script.
- The previous release (`baseline_checkout`): a temporary `git worktree` of a ref, run with the
  same interpreter (`PYTHONPATH=<worktree>`, `python -m migration_gate`) as the current code.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The real-world corpus (MANIFEST.json and repos/): not part of the repository, named by the
#: environment variable MIGRATION_GATE_CORPUS, as for the corpus-wide tests.
CORPUS_ENV = "MIGRATION_GATE_CORPUS"
#: The previous release (end of wave 1, 2026-11-24): `--baseline` compares with it by default.
DEFAULT_BASELINE = "61c5fa0"


# --- the corpus -----------------------------------------------------------------------------

def corpus_root() -> Path:
    root = Path(os.environ.get(CORPUS_ENV, "").strip() or "/nonexistent")
    if not (root / "MANIFEST.json").is_file():
        raise SystemExit(f"set {CORPUS_ENV} to the real-world corpus (a folder with "
                         "MANIFEST.json and repos/)")
    return root


def postgres_files(corpus: Path) -> list[Path]:
    """Every `.sql` file under the migration folders of the projects whose dialect is exactly
    `postgres` (2,758 files from 23 projects), sorted per folder: a stable order, so that the
    first N files are the same N on every machine."""
    manifest = json.loads((corpus / "MANIFEST.json").read_text(encoding="utf-8"))
    files: list[Path] = []
    for project in manifest:
        if project["dialect"] != "postgres":
            continue
        base = corpus / "repos" / project["repo"].replace("/", "__")
        for folder in project["migration_dir"]:
            files.extend(sorted((base / folder).rglob("*.sql")))
    if not files:
        raise SystemExit(f"no PostgreSQL migrations in {corpus}")
    return files


# --- one run --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    """One command line to time. `fresh_cache`: every run gets a new, empty cache folder
    (`MIGRATION_GATE_CACHE_DIR` and `XDG_CACHE_HOME`), so nothing any earlier run left helps."""

    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str]
    fresh_cache: bool = False
    ok: frozenset[int] = frozenset({0, 1})


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    peak_rss: int  # bytes


def run_once(command: Command) -> Run:
    """Run the command to its end; the exit status must be one of `command.ok` (a gate that
    fails to start would otherwise be timed as a fast gate)."""
    env = dict(command.env)
    with contextlib.ExitStack() as stack:
        if command.fresh_cache:
            cache = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-cache-"))
            env["MIGRATION_GATE_CACHE_DIR"] = cache
            env["XDG_CACHE_HOME"] = cache
        stderr = stack.enter_context(tempfile.TemporaryFile())
        start = time.perf_counter()
        process = subprocess.Popen(command.argv, cwd=command.cwd, env=env,
                                   stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in command.ok:
            stderr.seek(0)
            message = stderr.read().decode(errors="replace").strip()[-2000:]
            raise SystemExit(f"{' '.join(command.argv[:4])} ... exited "
                             f"{process.returncode}: {message}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)


# --- alternating runs -----------------------------------------------------------------------

@dataclass
class Series:
    """The runs of one case (a scenario on one side: squawk, baseline or now)."""

    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def peak_rss(self) -> int:
        return max(r.peak_rss for r in self.runs)

    def wall_text(self) -> str:
        """Median wall time (min–max), then the median CPU time: on a loaded machine the
        wall time grows with the load, the CPU time much less."""
        walls = [r.wall for r in self.runs]
        return (f"{self.median:.3f} s ({min(walls):.3f}–{max(walls):.3f}), "
                f"CPU {self.cpu:.3f} s")


def alternate(cases: Mapping[str, Command], runs: int, *, warm_up: bool = True
              ) -> dict[str, Series]:
    """`runs` rounds, each running every case once in order. `warm_up`: one run of each case
    first, not timed (it fills the caches a warm case needs, writes the bytecode and brings the
    files into the OS cache for everyone)."""
    if warm_up:
        for command in cases.values():
            run_once(command)
    results = {name: Series() for name in cases}
    for _ in range(runs):
        for name, command in cases.items():
            results[name].runs.append(run_once(command))
    return results


# --- the two sides: the previous release and the current code --------------------------------

def gate_env(**extra: str) -> dict[str, str]:
    """The environment of a gate run: no colour; bytecode written as a user's install would
    (this shell may set PYTHONDONTWRITEBYTECODE: that case is a row of its own)."""
    env = {**os.environ, "NO_COLOR": "1", **extra}
    for name in ("MIGRATION_GATE_NO_CACHE", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"):
        if name not in extra:
            env.pop(name, None)
    return env


@dataclass(frozen=True)
class Side:
    """A version of the gate: `python -m migration_gate` with its sources first on the path
    (the same interpreter and installed dependencies for both sides)."""

    name: str
    source: Path

    def argv(self, *args: str) -> tuple[str, ...]:
        return (sys.executable, "-m", "migration_gate", *args)

    def env(self, **extra: str) -> dict[str, str]:
        return gate_env(PYTHONPATH=str(self.source), **extra)


@contextlib.contextmanager
def baseline_checkout(ref: str) -> Iterator[Side]:
    """The ref checked out in a temporary `git worktree` of this repository, removed after."""
    commit = subprocess.run(["git", "rev-parse", "--short", f"{ref}^{{commit}}"], cwd=ROOT,
                            capture_output=True, text=True)
    if commit.returncode != 0:
        raise SystemExit(f"--baseline {ref}: not a commit of {ROOT}")
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as temp:
        where = Path(temp) / "checkout"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(where), ref], cwd=ROOT,
                       check=True, capture_output=True)
        try:
            yield Side(f"baseline {ref}", where)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT,
                           capture_output=True)
            subprocess.run(["git", "worktree", "prune"], cwd=ROOT, capture_output=True)


def current_side() -> Side:
    return Side("now", ROOT)


def without_bytecode(side: Side, where: Path) -> Side:
    """A copy of the side's package with no `__pycache__`: under PYTHONDONTWRITEBYTECODE an
    editable install that never wrote its bytecode compiles every module it imports, on every
    run. (Site-packages keep the bytecode pip wrote at install time, as in a real install.)"""
    target = where / side.name.replace(" ", "-")
    shutil.copytree(side.source / "migration_gate", target / "migration_gate",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return Side(f"{side.name}, no bytecode", target)


def freshly_installed(side: Side, where: Path) -> Side:
    """A copy of the side's package as pip leaves it, bytecode compiled, before its first run
    wrote the table of compiled data-class methods and patterns (`compile_cache`): run under
    PYTHONDONTWRITEBYTECODE, it stays so. A side older than that table is just a copy."""
    target = where / f"{side.name.replace(' ', '-')}-fresh"
    shutil.copytree(side.source / "migration_gate", target / "migration_gate",
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(target / "migration_gate")],
                   check=True)
    return Side(f"{side.name}, first run", target)


# --- printing -------------------------------------------------------------------------------

def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def ratio_text(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}×" if denominator > 0 else "–"


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, title: str,
                runs: int | None) -> None:
    """A Markdown table (it pastes into bench/README.md as it is), with its date, the number of
    runs and the load average."""
    how = f"{runs} alternating runs, " if runs else ""
    print(f"\n{title} — {time.strftime('%Y-%m-%d %H:%M %Z')}, {how}{load_text()}")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"
