"""One exception family for everything a MedTEB user can get wrong.

Every error subclasses :class:`MedtebError` and the builtin it refines, so callers can catch
either. The CLI turns a ``MedtebError`` into a one-line message and exit status 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence
from pathlib import Path

DATA_FORMAT_DOC = "docs/data_format.md"


class MedtebError(Exception):
    """Base class of all errors MedTEB raises for bad input or missing resources."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class UnknownTaskError(MedtebError, KeyError):
    """A task name that is neither a MedTEB task nor an mteb task."""

    def __init__(self, name: str, known: Collection[str]) -> None:
        same = [k for k in known if k.lower() == name.lower()]  # case first: medteb-sts
        close = same or difflib.get_close_matches(name, list(known), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        super().__init__(
            f"unknown task {name!r}.{hint} `medteb available-tasks` lists the MedTEB tasks."
        )


class UnknownModelError(MedtebError, ValueError):
    """A model name that is not a local directory, a MedTEB baseline or an mteb model."""


class DataUnavailableError(MedtebError, FileNotFoundError):
    """No data source can be reached for a task (release pending, hub unreachable, ...)."""


class DataValidationError(MedtebError, ValueError):
    """Local task data breaks the documented format; carries every problem found."""

    def __init__(self, task_dir: str, problems: Sequence[str]) -> None:
        self.task_dir = task_dir
        self.problems = list(problems)
        shown = "; ".join(self.problems[:20])
        more = f"; ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(
            f"{task_dir}: {len(self.problems)} problem(s): {shown}{more}. "
            f"The format is described in {DATA_FORMAT_DOC}."
        )

    @classmethod
    def merged(cls, errors: Sequence[DataValidationError]) -> DataValidationError:
        """One error listing every problem of several task folders (the one itself if one)."""
        if len(errors) == 1:
            return errors[0]
        return cls(", ".join(err.task_dir for err in errors),
                   [f"{Path(err.task_dir).name}/{problem}"
                    for err in errors for problem in err.problems])


class TaskDefinitionError(MedtebError, ValueError):
    """A tasks/<TaskName>/task.yaml that does not validate."""


class ResultsError(MedtebError, ValueError):
    """A results folder whose files MedTEB cannot read (broken record, unreadable result)."""


class SubmissionError(MedtebError, ValueError):
    """A submission that does not validate; carries every problem found."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{source}: submission rejected, {len(self.problems)} problem(s); nothing was "
            f"written:\n{lines}\nSee docs/submitting_results.md."
        )


class BuildInputError(MedtebError, ValueError):
    """An input file or setting of a ``medteb build`` stage that cannot be used."""


class JudgeError(MedtebError, RuntimeError):
    """An LLM judge that cannot be used at all (missing API key, HTTP 401/403/404, ...)."""


class TrainingError(MedtebError, ValueError):
    """Training data, settings or a checkpoint that a training stage cannot use."""


class AnalysisError(MedtebError, ValueError):
    """Per-query scores that cannot be analysed or compared (other data, missing, non-finite)."""
