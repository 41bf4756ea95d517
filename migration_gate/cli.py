"""The command line: the `migration-gate` group, its error handling and the entry point.

Exit codes: 0 clean, 1 findings at the failing severity, 2 usage or environment error (one line
on stderr, never a traceback). The commands live in `migration_gate.commands`, one module each,
imported only when invoked, so that a pre-commit run pays for nothing it does not use.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from migration_gate.console import OutputError, say, visible, write_out
from migration_gate.diagnostics import GateError

#: Set to 1 to see the traceback of an internal error instead of its one-line summary.
DEBUG_ENV = "MIGRATION_GATE_DEBUG"


def main(args: list[str] | None = None) -> NoReturn:
    """Run the command line and exit; whatever happens, one line on stderr, never a traceback.

    The report is the gate's product: when it cannot be written (stdout closed, a full disk,
    a reader that went away) the run fails with exit 2, never 0, and says so once.
    """
    sys.exit(_flush_stdout(run(sys.argv[1:] if args is None else args)))


def end_at_once(code: object) -> None:
    """End the process now (`os._exit`) with the exit code `code` of `main`, when nothing waits
    for the exit; else return, and the caller exits as usual. The entry point calls it last,
    after what it does once the command has run (`compile_cache.save`)."""
    if isinstance(code, int) and 0 <= code <= 255 and _nothing_left_at_exit():
        os._exit(code)


def _nothing_left_at_exit() -> bool:
    """Whether the process may end at once, its output written: the interpreter's teardown (a
    full garbage collection, then every module's objects freed one by one) was ~7% of a warm
    check, 6-10 ms, and does nothing a run needs. Not when something waits for the exit: a
    function registered with `atexit` (a cache flushed, git processes or a server stopped, a
    coverage run's data saved), a thread that is not a daemon or one of `threading`'s exit
    hooks (a process pool), a profiler or a tracer (`python -m cProfile` writes its report
    after the run), or a standard stream that cannot be flushed."""
    import atexit
    import threading

    if sys.getprofile() is not None or sys.gettrace() is not None:
        return False
    registered = getattr(atexit, "_ncallbacks", None)  # CPython's; elsewhere, exit as usual
    if registered is None or registered() or getattr(threading, "_threading_atexits", [None]):
        return False
    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon and t.is_alive()
           for t in threading.enumerate()):
        return False
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except (OSError, ValueError):
        return False
    return True


def run(args: list[str]) -> int:
    """The exit code of the command line `args` (without the program's name), without exiting
    (what `main` runs; tests run it in-process). Every exception ends here as one line on
    stderr."""
    from migration_gate.commands._parser import UsageError

    try:
        result = _dispatch(args)
    except UsageError as error:
        say(f"error: {error}")
        return 2
    except GateError as error:
        from migration_gate.redaction import redact

        say(f"error: {redact(str(error))}")
        return 2
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except SystemExit as done:
        return _exit_code(done.code)
    except OutputError as error:
        return _output_failed(str(error))
    except OSError as error:
        if not _is_output_error(error):
            return _internal_error(error)
        return _output_failed(error.strerror or str(error))
    except RecursionError as error:
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        say(f"error: too deeply nested to process ({error}); please report it")
        return 2
    except Exception as error:
        return _internal_error(error)
    return result if isinstance(result, int) else 0


def _dispatch(args: list[str]) -> object:
    """Answer the group's own option, or parse and run the command named: only its module is
    imported (`--help` imports them all, to list them)."""
    from migration_gate.commands import _parser

    option, name, rest = _parser.split_group(args)
    if option == "--version":
        write_out(_parser.version_line())
        return 0
    if option is not None:
        write_out(_parser.group_help())
        return 0
    assert name is not None
    command = _parser.find_command(name)
    return command.function(**_parser.parse(command, rest))


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    say(str(code))
    return 1


def _is_output_error(error: OSError) -> bool:
    """A write to stdout that failed outside `console` (whose writes raise `OutputError`): no
    file name, and the errors of a full disk or a reader gone."""
    import errno

    lost = (errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)
    return error.filename is None and error.errno in lost


def _flush_stdout(code: int) -> int:
    """Buffered output fails at the flush: here, not in Python's exit-time flush (which would
    print a traceback-like message and exit 120). A run that already failed says nothing more.
    """
    if sys.stdout is None:
        return code if code == 2 else _output_failed("standard output is closed")
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as error:
        if code == 2:
            _silence_stdout()
            return code
        return _output_failed(getattr(error, "strerror", None) or str(error))
    return code


def _output_failed(reason: str) -> int:
    """Say that the output could not be written; exit 2, whatever the findings were."""
    _silence_stdout()
    say(f"error: cannot write to standard output: {reason}")
    return 2


def _silence_stdout() -> None:
    """What is still buffered for stdout goes to the null device, quietly, at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _internal_error(error: Exception) -> int:
    if os.environ.get(DEBUG_ENV) == "1":
        raise error
    detail = visible(str(error).split("\n", 1)[0])
    say(f"internal error: {type(error).__name__}: {detail} (please report; "
        f"{DEBUG_ENV}=1 shows the traceback)")
    return 2
