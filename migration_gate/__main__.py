"""The entry point (`migration-gate`, `python -m migration_gate`).

`--version` alone is answered here, before argparse and the command line are imported: it is what
installers and CI caches run to probe the tool (action.yml), and it then costs a bare
interpreter start. Anything else, or any trouble writing the answer, goes to `cli.main`.
"""

from __future__ import annotations

import sys

#: The cyclic garbage collector's thresholds for a run (Python's default: 700, 10, 10). A run
#: allocates many small containers that live until it ends (the files of a folder, their
#: names and versions, the modules it imports): at the default the collector scanned them
#: again and again, 10 ms of a warm pre-commit check and 43 ms over 5,000 files. Cycles are
#: still collected, less often; the peak memory of a 5,000-file lint did not change.
GC_THRESHOLDS = (10_000, 50, 100)


def main() -> None:
    if sys.argv[1:] == ["--version"] and _print_version():
        sys.exit(0)
    import gc

    gc.set_threshold(*GC_THRESHOLDS)
    from migration_gate import compile_cache

    compile_cache.install()
    code: object = None
    try:
        from migration_gate.cli import main as cli_main

        cli_main()
    except SystemExit as done:
        code = done.code
        raise
    finally:
        compile_cache.save()
        if code is not None:  # the command ran to its exit: end now if nothing waits for it
            from migration_gate.cli import end_at_once

            end_at_once(code)


def _print_version() -> bool:
    """The line `migration-gate --version` prints (`commands._parser.version_line`, which
    `--version` with other arguments goes through); False when it could not be written (the
    command line then reports that as it reports every output failure)."""
    from migration_gate import __version__

    try:
        sys.stdout.write(f"migration-gate, version {__version__}\n")
        sys.stdout.flush()
    except Exception:  # a closed, full or gone stdout: the full path says so
        return False
    return True


if __name__ == "__main__":
    main()
