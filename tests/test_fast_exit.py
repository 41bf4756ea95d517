"""The process ends at once when its output is written, the compile table saved, and nothing
waits for the exit (`cli.end_at_once`, issue 16: the interpreter's teardown was ~7% of a warm
check), and exits as usual when something does: an `atexit` function, a thread that is not a
daemon, a profiler. Real interpreters, through subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import clean_env

#: A run of the real command line whose module holds an object that says when it is freed
#: (the interpreter's teardown frees it; `os._exit` does not), plus `extra` before `main`.
SCRIPT = """
import os, sys
class Witness:
    def __del__(self):
        os.write(2, b"torn down\\n")
witness = Witness()
{extra}
sys.argv = ["migration-gate", *{args!r}]
from migration_gate.__main__ import main
main()
"""


def run(tmp_path: Path, args: list[str], extra: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT.format(extra=extra, args=args)],
                          cwd=tmp_path, env=clean_env(), capture_output=True, text=True,
                          timeout=120)


def test_a_run_ends_without_the_teardown_its_output_whole(tmp_path: Path) -> None:
    done = run(tmp_path, ["rules"])
    assert done.returncode == 0, done.stderr
    assert "torn down" not in done.stderr
    assert "ban-drop-column" in done.stdout and done.stdout.endswith("\n")
    # no migrations folder: exit 2, its one line said (without the replay, whose base copy
    # may start and then waits for the exit: `ephemeral.prefetch`)
    failed = run(tmp_path, ["check", "--no-verify"])
    assert failed.returncode == 2 and "migrations folder not found" in failed.stderr
    assert "torn down" not in failed.stderr


def test_an_atexit_function_or_a_thread_gets_the_usual_exit(tmp_path: Path) -> None:
    registered = run(tmp_path, ["rules"],
                     "import atexit\natexit.register(lambda: os.write(2, b'at exit\\n'))")
    assert registered.returncode == 0 and "at exit" in registered.stderr
    assert "torn down" in registered.stderr
    thread = run(tmp_path, ["rules"], "import threading, time\n"
                 "threading.Thread(target=lambda: (time.sleep(0.5), os.write(2, b'joined\\n'))"
                 ").start()")
    assert thread.returncode == 0 and "joined" in thread.stderr


def test_a_profiled_run_writes_its_profile(tmp_path: Path) -> None:
    profile = tmp_path / "run.prof"
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(profile), "-m",
                           "migration_gate", "rules"], cwd=tmp_path, env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert profile.stat().st_size > 0


def test_the_compile_table_is_saved_before_the_process_ends(tmp_path: Path) -> None:
    where = subprocess.run([sys.executable, "-c", "from migration_gate import compile_cache; "
                            "print(compile_cache.table_path())"], env=clean_env(),
                           capture_output=True, text=True, timeout=120).stdout.strip()
    table = Path(where)
    table.unlink(missing_ok=True)
    done = run(tmp_path, ["rules"])
    assert done.returncode == 0 and "torn down" not in done.stderr  # it ended at once
    assert table.stat().st_size > 0  # after `compile_cache.save`
