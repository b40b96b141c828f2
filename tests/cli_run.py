"""Run a `midway` command in this process, as `python -m cli ARGS` would in a subprocess.

A subprocess pays ~4 s for importing torch and diffusers and loading the engine anew; in-process, the
real `cli.main.main` runs the same argument parsing, command and exit status, and the engines stay
loaded between tests. Each test file keeps one real subprocess run for what only a process shows.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from collections.abc import Iterator, Mapping


@contextlib.contextmanager
def _environment(changes: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """(returncode, stdout, stderr) of `midway ARGS`, with `env` added to the environment meanwhile."""
    from cli.main import main
    from midway.settings import get_settings

    out, err = io.StringIO(), io.StringIO()
    with _environment(env or {}), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        get_settings.cache_clear()  # the settings are read from the environment, as a new process would
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code if isinstance(exit_.code, int) else 2
        finally:
            get_settings.cache_clear()
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
