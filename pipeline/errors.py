"""Errors that reach the user as clear, one-line-per-problem messages instead of tracebacks."""

from __future__ import annotations


class InputError(Exception):
    """Bad input (data files or parameters) the user has to fix.

    ``problems`` holds one line per problem, ``file:row: column: what is wrong``. The command line
    and the stage runner print them and exit 1, with no traceback.
    """

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class ParamError(InputError):
    """A value in params.yaml that cannot be used."""


class StageError(Exception):
    """A stage's notebook failed for a reason other than bad input: a bug, reported with the
    notebook's own traceback."""


class Interrupted(BaseException):
    """A stage was stopped: SIGTERM, SIGHUP or SIGINT, or its parent (``dvc repro``) died. A
    BaseException like KeyboardInterrupt, so no ``except Exception`` swallows it."""
