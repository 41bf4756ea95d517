"""Process helpers for throwaway databases: liveness, SIGTERM as an exit that cleans up, and
stopping a whole process group (initdb and the backends it starts) before its folder goes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: How long a process group gets to exit after SIGTERM before SIGKILL.
GROUP_STOP_TIMEOUT = 10.0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def terminate_as_exit() -> Iterator[None]:
    """SIGTERM raises SystemExit(143) while the block runs, so that cleanup code runs.

    Only the first SIGTERM does: a second one, while that cleanup drops a database or stops a
    server, is ignored rather than cutting the cleanup short. Nested uses keep the outer
    handler's behaviour.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False

    def on_term(signum: int, _frame: object) -> None:
        nonlocal fired
        if fired:
            return
        fired = True
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_in_own_group(command: list[str], **popen: Any) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(command, capture_output=True, text=True)` in a new session; if the gate
    is interrupted meanwhile (SIGTERM, Ctrl-C), the whole group gets SIGTERM and is waited for.

    Why: `subprocess.run` kills only its direct child. initdb's single-user backends would
    outlive it, and when the gate then deletes their data folder they PANIC without removing
    their POSIX shared memory segments (`/dev/shm/PostgreSQL.*`, leaked for good).
    """
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, **popen,
    )
    try:
        stdout, stderr = process.communicate()
    except BaseException:
        stop_group(process)
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def stop_group(process: subprocess.Popen[str]) -> None:
    """SIGTERM to `process`'s group, then wait until every member is gone (SIGKILL after
    `GROUP_STOP_TIMEOUT`)."""
    group = process.pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + GROUP_STOP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None and not group_alive(group):
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
    process.wait()


def group_alive(group: int) -> bool:
    """Whether a process of `group` still runs (zombies, which an orphaned child may stay as in
    a container without an init, do not count)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(group) and fields[0] != "Z":
            return True
    return False
