"""A gate run in the background and interrupted once its replay reached the server: shared by
the signal tests of PostgreSQL (test_db_leftovers.py) and MariaDB (test_db_mysql_guard.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def interrupt_gate(args: list[str], *, cwd: Path, env: dict[str, str],
                   ready: Callable[[int], bool], signum: int, limit: float,
                   before_signal: Callable[[], None] | None = None) -> subprocess.Popen[bytes]:
    """Start `python -m migration_gate ARGS`, wait until `ready(pid)` (its replay reached the
    server), send `signum` and wait for the exit. Whatever fails, the gate is killed and reaped:
    no test leaves one running. Returns the finished process (stderr still readable)."""
    gate = subprocess.Popen([sys.executable, "-m", "migration_gate", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: ready(gate.pid), timeout=limit), "the gate never got there"
        if before_signal is not None:
            before_signal()
        gate.send_signal(signum)
        gate.wait(timeout=limit)
    finally:
        if gate.poll() is None:
            gate.kill()
            gate.wait()
    return gate


def assert_stopped_by(gate: subprocess.Popen[bytes], signum: int) -> None:
    """The gate exited as a process stopped by `signum` does (128 + signum), without a
    traceback."""
    assert gate.returncode == 128 + signum
    assert gate.stderr is not None and b"Traceback" not in gate.stderr.read()
