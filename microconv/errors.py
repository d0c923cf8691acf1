"""Domain errors and exit codes.

Library code raises these; only ``cli.boundary`` turns them into a message on
stderr and an exit code, so a notebook user gets an exception and a cron job a code.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes (README, ``--help``). 1 is kept for "an alert was breached"."""

    OK = 0
    ALERT = 1
    USAGE = 2
    CONFIG = 3
    DATA = 4
    OUTPUT = 5
    INTERNAL = 70


@dataclass(frozen=True)
class Problem:
    """One thing wrong: where it is, what is wrong, what to try."""

    message: str
    where: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text} ({self.hint})" if self.hint else text


class MicroconvError(Exception):
    """An error the user can fix. Carries every problem found, not just the first."""

    exit_code = ExitCode.INTERNAL

    def __init__(
        self,
        message: str | Sequence[Problem],
        *,
        where: str | None = None,
        hint: str | None = None,
    ):
        if isinstance(message, str):
            self.problems = [Problem(message, where, hint)]
        else:
            self.problems = list(message)
        super().__init__(str(self))

    @property
    def message(self) -> str:
        return self.problems[0].message

    @property
    def hint(self) -> str | None:
        return self.problems[0].hint

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class ConfigError(MicroconvError):
    """The config is invalid on its own terms."""

    exit_code = ExitCode.CONFIG


class DataError(MicroconvError):
    """Input cannot be read, or does not fit the config (missing column, unknown event)."""

    exit_code = ExitCode.DATA


class OutputError(MicroconvError):
    exit_code = ExitCode.OUTPUT


def did_you_mean(value: object, choices: Iterable[object], *, what: str = "choices") -> str | None:
    """A hint naming the closest choices, or listing them all when there are few."""
    names = sorted({str(c) for c in choices})
    close = difflib.get_close_matches(str(value), names, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    if names and len(names) <= 12:
        return f"known {what}: " + ", ".join(names)
    return None


class UsageError(MicroconvError):
    """A command-line value the library cannot use (a bad ``since`` date, say)."""

    exit_code = ExitCode.USAGE


OPTION = "\0"   # where an OptionError names its option: no command-line value can hold a NUL


class OptionError(UsageError):
    """A value of one option of a library call that cannot be used: ``option`` is the keyword
    argument's name (``"trend"``, ``"as_of"``). The message and hint name it as :data:`OPTION`
    (``f"{OPTION} {value!r} is not ..."``), a placeholder no value the user typed can hold, so
    that a notebook reads ``trend 'x' ...`` and only the command line (``cli.boundary``), through
    :meth:`named`, writes the flag the user typed: the library knows no flag names.

    ``exit_code`` is a usage error's unless given: a value that is well formed but that the data
    cannot meet (``as_of`` before the first event) is ``ExitCode.DATA``, as its message would be
    from any other data error."""

    def __init__(self, message: str, *, option: str, hint: str | None = None, where: str | None = None,
                 exit_code: ExitCode | None = None):
        self.option = option
        self._template = (message, hint)
        if exit_code is not None:
            self.exit_code = ExitCode(exit_code)
        super().__init__(message.replace(OPTION, option), hint=None if hint is None else
                         hint.replace(OPTION, option), where=where)

    def named(self, flag: str) -> OptionError:
        """The same error with the option written as ``flag``, the command line's name of the option."""
        message, hint = self._template
        named = OptionError(message, option=self.option, where=self.problems[0].where, hint=hint,
                            exit_code=self.exit_code)
        named.problems = [Problem(message.replace(OPTION, flag), self.problems[0].where,
                                  None if hint is None else hint.replace(OPTION, flag))]
        named.args = (str(named),)
        return named
