"""Instruments (quickscan, checklist) as validated data files.

The quickscan exists in variants for primary (po), secondary (vo) and vocational (mbo)
education that differ only in their wording. Keeping every instrument in a YAML file
means a school adds a variant by dropping in a file, without touching code. Because a
broken file would otherwise surface only halfway through somebody's quickscan, every
file is loaded and fully cross-checked at start, and each problem is reported with the
file and the field path so the person editing the YAML can find it.

The models are frozen so that an instrument, once loaded, can be shared between all
conversations without anybody changing it underneath the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "Aspect",
    "Checklist",
    "ChecklistGroup",
    "ClosingPage",
    "Cluster",
    "Factor",
    "Instrument",
    "InstrumentError",
    "OpenQuestion",
    "Question",
    "Quickscan",
    "Scale",
    "ScaleOption",
    "Statement",
    "SubTheme",
    "load_instrument",
    "load_instruments",
    "packaged_dir",
]

# Ids end up in stored answers and in chat-platform callback data (Telegram allows
# 64 bytes), so they are short, lower-case and free of spaces.
Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
# Texts are stripped so that a YAML block scalar's trailing newline does not leak into
# the chat; an empty text is always a mistake in the file.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# Answer codes are shown on buttons and stored, so they stay short.
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]

_ERROR_TYPE = "instrument"
_MAX_REPORTED_ERRORS = 10


class _Model(BaseModel):
    """Base for all instrument models: immutable and strict about unknown keys.

    ``extra="forbid"`` turns a misspelt key in a YAML file into an error instead of a
    silently ignored setting.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


def _fail(path: Sequence[str | int], message: str) -> NoReturn:
    """Raise a validation error that remembers the field path inside the model.

    A model validator can only raise one error located at the model itself; carrying
    the relative path in the error context lets the loader report the precise field
    (``questions.7.factor``) instead of the whole instrument.

    Args:
        path: Field path relative to the model being validated.
        message: What is wrong, in words for the person editing the file.

    Raises:
        PydanticCustomError: Always.
    """
    joined = ".".join(str(part) for part in path)
    raise PydanticCustomError(_ERROR_TYPE, "{path}: {detail}", {"path": joined, "detail": message})


def _check_unique(
    items: Iterable[Any], *, attribute: str, field: Sequence[str | int], what: str
) -> None:
    """Reject a repeated key, because lookups by that key would silently pick one.

    Args:
        items: The models in file order.
        attribute: The attribute that must be unique.
        field: Path of the list field, for the error path.
        what: Human name of the key, for the message.
    """
    seen: dict[Any, int] = {}
    for index, item in enumerate(items):
        key = getattr(item, attribute)
        if key in seen:
            _fail(
                (*field, index, attribute),
                f"duplicate {what} {key!r} (also used at index {seen[key]})",
            )
        seen[key] = index


class ScaleOption(_Model):
    """One answer on a scale.

    ``score`` is ``None`` for an answer that says nothing about the school (the
    quickscan's "?"), so it can be counted as "no insight" without skewing averages.
    """

    model_config = ConfigDict(coerce_numbers_to_str=True)

    code: Code
    label: Text
    score: int | None


class Scale(_Model):
    """The ordered answer options shared by all items of an instrument."""

    options: tuple[ScaleOption, ...]

    @model_validator(mode="after")
    def _check(self) -> Scale:
        _check_unique(self.options, attribute="code", field=("options",), what="code")
        scored = self.scored()
        if len(scored) < 2:
            _fail(("options",), "a scale needs at least two scored options")
        scores: dict[int, int] = {}
        for index, option in enumerate(self.options):
            if option.score is None:
                continue
            if option.score in scores:
                _fail(
                    ("options", index, "score"),
                    f"duplicate score {option.score} (also used at index {scores[option.score]})",
                )
            scores[option.score] = index
        return self

    def codes(self) -> tuple[str, ...]:
        """Return the codes in display order, e.g. for building answer buttons."""
        return tuple(option.code for option in self.options)

    def by_code(self, code: str) -> ScaleOption:
        """Return the option for a stored or typed answer code.

        Raises:
            KeyError: If the code is not on this scale.
        """
        for option in self.options:
            if option.code == code:
                return option
        raise KeyError(code)

    def scored(self) -> tuple[ScaleOption, ...]:
        """Return the options that count in scores, in display order."""
        return tuple(option for option in self.options if option.score is not None)


class Cluster(_Model):
    """A group of success factors (contact, samenwerking, toekomstperspectief).

    The closing page asks one grade per cluster, labelled with ``grade_label``.
    """

    id: Id
    name: Text
    title: Text
    grade_label: Text


class Aspect(_Model):
    """One of the four aspects of working with parents, shown as background."""

    id: Id
    name: Text
    description: Text


class SubTheme(_Model):
    """A named block of questions within a factor (factor 1 has three)."""

    id: Id
    name: Text


class Factor(_Model):
    """A success factor; its questions are asked together."""

    number: Annotated[int, Field(ge=1)]
    id: Id
    short_name: Text
    sentence: Text
    cluster: Id
    subthemes: tuple[SubTheme, ...] = ()
    # The Gereedschapskist tool that works on this factor, named with a priority.
    tool: Text | None = None
    # One concrete first step suggested when the team result makes this a priority.
    first_step: Text | None = None
    # Word stems that, in respondents' own priority answers, point at this factor.
    keywords: tuple[Text, ...] = ()


class Question(_Model):
    """One quickscan item.

    ``id`` is what answers are stored under: never renumber or reuse it, or existing
    answers would be attributed to another question.
    """

    id: Id
    factor: Annotated[int, Field(ge=1)]
    subtheme: Id | None = None
    text: Text


class OpenQuestion(_Model):
    """A free-text question on the closing page."""

    id: Id
    text: Text


class ClosingPage(_Model):
    """The last page: a grade per cluster and the open questions about improvement."""

    grade_question: Text
    grade_min: int = 1
    grade_max: int = 10
    open_questions: tuple[OpenQuestion, ...]

    @model_validator(mode="after")
    def _check(self) -> ClosingPage:
        if self.grade_min >= self.grade_max:
            _fail(("grade_max",), "grade_max must be greater than grade_min")
        _check_unique(self.open_questions, attribute="id", field=("open_questions",), what="id")
        return self


class Quickscan(_Model):
    """A quickscan: questions per success factor, answered on one scale, then a closing page."""

    kind: Literal["quickscan"]
    id: Id
    title: Text
    school_type: Id
    source: Text
    scale: Scale
    clusters: tuple[Cluster, ...]
    aspects: tuple[Aspect, ...]
    factors: tuple[Factor, ...]
    questions: tuple[Question, ...]
    closing: ClosingPage

    @model_validator(mode="after")
    def _check(self) -> Quickscan:
        _check_unique(self.clusters, attribute="id", field=("clusters",), what="cluster id")
        _check_unique(self.aspects, attribute="id", field=("aspects",), what="aspect id")
        _check_unique(self.factors, attribute="number", field=("factors",), what="factor number")
        _check_unique(self.factors, attribute="id", field=("factors",), what="factor id")
        _check_unique(self.questions, attribute="id", field=("questions",), what="question id")
        if not self.questions:
            _fail(("questions",), "a quickscan needs at least one question")

        cluster_ids = {cluster.id for cluster in self.clusters}
        for index, factor in enumerate(self.factors):
            if factor.cluster not in cluster_ids:
                _fail(("factors", index, "cluster"), f"cluster {factor.cluster!r} is not defined")
            _check_unique(
                factor.subthemes,
                attribute="id",
                field=("factors", index, "subthemes"),
                what="subtheme id",
            )
        for index, cluster in enumerate(self.clusters):
            if not any(factor.cluster == cluster.id for factor in self.factors):
                _fail(("clusters", index), f"cluster {cluster.id!r} has no factors")

        subthemes = {f.number: [subtheme.id for subtheme in f.subthemes] for f in self.factors}
        for index, question in enumerate(self.questions):
            if question.factor not in subthemes:
                _fail(("questions", index, "factor"), f"factor {question.factor} is not defined")
            subtheme_ids = subthemes[question.factor]
            if question.subtheme is None and subtheme_ids:
                _fail(
                    ("questions", index, "subtheme"),
                    f"factor {question.factor} has subthemes, so question {question.id!r}"
                    f" needs one of {subtheme_ids}",
                )
            if question.subtheme is not None and question.subtheme not in subtheme_ids:
                expected = f"one of {subtheme_ids}" if subtheme_ids else "none"
                _fail(
                    ("questions", index, "subtheme"),
                    f"subtheme {question.subtheme!r} is not defined for factor"
                    f" {question.factor} (expected {expected})",
                )
        for index, factor in enumerate(self.factors):
            if not any(question.factor == factor.number for question in self.questions):
                _fail(("factors", index), f"factor {factor.number} has no questions")
        return self

    def factor(self, number: int) -> Factor:
        """Return the factor with this number.

        Raises:
            KeyError: If there is no such factor.
        """
        for factor in self.factors:
            if factor.number == number:
                return factor
        raise KeyError(number)

    def cluster_of(self, factor_number: int) -> Cluster:
        """Return the cluster a factor belongs to, e.g. to group results per grade.

        Raises:
            KeyError: If there is no such factor.
        """
        cluster_id = self.factor(factor_number).cluster
        # Validation guarantees the cluster exists.
        return next(cluster for cluster in self.clusters if cluster.id == cluster_id)

    def questions_of(self, factor_number: int) -> tuple[Question, ...]:
        """Return a factor's questions in file order.

        Raises:
            KeyError: If there is no such factor.
        """
        self.factor(factor_number)
        return tuple(question for question in self.questions if question.factor == factor_number)

    def factors_of(self, cluster_id: str) -> tuple[Factor, ...]:
        """Return a cluster's factors in file order.

        Raises:
            KeyError: If there is no such cluster.
        """
        if not any(cluster.id == cluster_id for cluster in self.clusters):
            raise KeyError(cluster_id)
        return tuple(factor for factor in self.factors if factor.cluster == cluster_id)

    def question_index(self, question_id: str) -> int:
        """Return the 0-based position of a question, e.g. to resume after it.

        Raises:
            KeyError: If there is no such question.
        """
        for index, question in enumerate(self.questions):
            if question.id == question_id:
                return index
        raise KeyError(question_id)

    def subtheme_name(self, question: Question) -> str | None:
        """Return the display name of a question's subtheme, or ``None`` if it has none.

        Raises:
            KeyError: If the question's factor is not part of this quickscan.
        """
        if question.subtheme is None:
            return None
        for subtheme in self.factor(question.factor).subthemes:
            if subtheme.id == question.subtheme:
                return subtheme.name
        raise KeyError(question.subtheme)


class ChecklistGroup(_Model):
    """A heading that groups checklist statements (contact, samenwerking, achtergrond)."""

    id: Id
    name: Text


class Statement(_Model):
    """A checklist statement a teacher scores for one pupil."""

    id: Id
    group: Id
    text: Text


class Checklist(_Model):
    """A per-pupil checklist, filled in twice and compared per child."""

    kind: Literal["checklist"]
    id: Id
    title: Text
    source: Text
    scale: Scale
    groups: tuple[ChecklistGroup, ...]
    statements: tuple[Statement, ...]

    @model_validator(mode="after")
    def _check(self) -> Checklist:
        _check_unique(self.groups, attribute="id", field=("groups",), what="group id")
        _check_unique(self.statements, attribute="id", field=("statements",), what="statement id")
        if not self.statements:
            _fail(("statements",), "a checklist needs at least one statement")
        group_ids = {group.id for group in self.groups}
        for index, statement in enumerate(self.statements):
            if statement.group not in group_ids:
                _fail(("statements", index, "group"), f"group {statement.group!r} is not defined")
        for index, group in enumerate(self.groups):
            if not any(statement.group == group.id for statement in self.statements):
                _fail(("groups", index), f"group {group.id!r} has no statements")
        return self


Instrument = Annotated[Quickscan | Checklist, Field(discriminator="kind")]

_INSTRUMENT_ADAPTER: TypeAdapter[Quickscan | Checklist] = TypeAdapter(Instrument)


class InstrumentError(ValueError):
    """An instrument file cannot be used; the message names the file and the field.

    Attributes:
        path: The offending file (or directory), if known.
    """

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


def packaged_dir() -> Path:
    """Return the directory with the instruments shipped with the bot."""
    return Path(__file__).resolve().parent / "instruments"


def _format_validation_error(path: Path, error: ValidationError, kind: object) -> str:
    """Turn pydantic's errors into lines of ``file: field.path: message``.

    The discriminated union puts the instrument kind in front of every location; it
    is dropped because it is not a key in the file.
    """
    lines = []
    errors = error.errors(include_url=False)
    for item in errors[:_MAX_REPORTED_ERRORS]:
        loc = list(item["loc"])
        if loc and isinstance(kind, str) and loc[0] == kind:
            loc = loc[1:]
        message = item["msg"]
        ctx = item.get("ctx") or {}
        if item["type"] == _ERROR_TYPE:
            loc.extend(part for part in str(ctx["path"]).split(".") if part)
            message = str(ctx["detail"])
        elif item["type"] == "union_tag_not_found":
            loc = ["kind"]
            message = "Field required (expected 'quickscan' or 'checklist')"
        elif item["type"] == "union_tag_invalid":
            loc = ["kind"]
        location = ".".join(str(part) for part in loc) or "(top level)"
        lines.append(f"{path}: {location}: {message}")
    if len(errors) > _MAX_REPORTED_ERRORS:
        lines.append(f"{path}: ... and {len(errors) - _MAX_REPORTED_ERRORS} more errors")
    return "\n".join(lines)


def load_instrument(path: Path) -> Quickscan | Checklist:
    """Read and validate one instrument file.

    Args:
        path: A YAML file with a ``kind`` of ``quickscan`` or ``checklist``.

    Returns:
        The validated, immutable instrument.

    Raises:
        InstrumentError: If the file cannot be read, is not valid YAML or does not
            describe a consistent instrument. The message names the file and the
            field path (or line and column for YAML syntax errors).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstrumentError(f"{path}: cannot read file: {exc}", path=path) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(YAML)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise InstrumentError(f"{path}: {where}: invalid YAML: {problem}", path=path) from exc
    if not isinstance(data, dict):
        raise InstrumentError(
            f"{path}: (top level): expected a mapping with a 'kind' key, "
            f"got {type(data).__name__}",
            path=path,
        )
    try:
        return _INSTRUMENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        message = _format_validation_error(path, exc, data.get("kind"))
        raise InstrumentError(message, path=path) from exc


def load_instruments(*, directories: Sequence[Path] = ()) -> dict[str, Quickscan | Checklist]:
    """Load every ``*.yaml`` instrument: the packaged ones first, then extra directories.

    Loading everything at start means a broken or clashing file stops the bot right
    away instead of failing in the middle of a conversation. Extra directories let a
    school add a variant (e.g. the VO or MBO quickscan) without changing code.

    Args:
        directories: Extra directories to read after the packaged one, in order.

    Returns:
        The instruments by id, in load order (files sorted by name per directory).

    Raises:
        InstrumentError: If a directory is missing, a file is invalid, or two files
            define the same id (the message names both files).
    """
    instruments: dict[str, Quickscan | Checklist] = {}
    origins: dict[str, Path] = {}
    for directory in (packaged_dir(), *directories):
        if not directory.is_dir():
            raise InstrumentError(
                f"{directory}: instrument directory does not exist", path=directory
            )
        for path in sorted(directory.glob("*.yaml")):
            instrument = load_instrument(path)
            if instrument.id in instruments:
                raise InstrumentError(
                    f"{path}: id: duplicate instrument id {instrument.id!r}"
                    f" (already defined in {origins[instrument.id]})",
                    path=path,
                )
            instruments[instrument.id] = instrument
            origins[instrument.id] = path
    return instruments
