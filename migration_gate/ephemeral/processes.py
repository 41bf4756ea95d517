"""Process helpers for throwaway databases: liveness, SIGTERM as an exit that cleans up, and
a command (initdb and the backends it starts) run in its own process group and waited for as a
whole before its folder goes."""

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
    """`subprocess.run(command, capture_output=True, text=True)` in a new session, which the
    terminal's Ctrl-C does not reach; if the gate is interrupted meanwhile (SIGTERM, Ctrl-C),
    the command is left to finish (up to `GROUP_FINISH_TIMEOUT`) before the exception goes on.

    Why not stop it: initdb's bootstrap and single-user backends keep POSIX shared memory
    (`/dev/shm/PostgreSQL.*`) that only their normal exit removes. `subprocess.run` kills its
    direct child only; the backends outlive it, and when the gate then deletes their data folder
    (or they get a signal they do not handle) they die without removing the segments, which
    stay until the machine reboots. Letting initdb finish costs about a second.
    """
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, **popen,
    )
    try:
        stdout, stderr = process.communicate()
    except BaseException:
        finish_group(process)
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


#: How long an interrupted gate waits for initdb to finish before killing it.
GROUP_FINISH_TIMEOUT = 30.0


def finish_group(process: subprocess.Popen[str]) -> None:
    """Wait for `process` and every other member of its group to exit; kill the group when that
    takes longer than `GROUP_FINISH_TIMEOUT` or the wait itself is interrupted again."""
    deadline = time.monotonic() + GROUP_FINISH_TIMEOUT
    with contextlib.suppress(BaseException):  # a timeout or a second Ctrl-C: stop waiting
        process.communicate(timeout=GROUP_FINISH_TIMEOUT)
        while group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
    if process.poll() is None or group_alive(process.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
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
