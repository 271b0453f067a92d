"""The building blocks every instrument shares: strict frozen models and the answer scale.

Validation errors raised here carry the field path inside the model, so the loader
(``conversations.instrument.loading``) can name the exact field of the YAML file
that is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any, NoReturn

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

# Ids end up in stored answers and in chat-platform callback data (Telegram allows
# 64 bytes), so they are short, lower-case and free of spaces.
Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
# Texts are stripped so that a YAML block scalar's trailing newline does not leak into
# the chat; an empty text is always a mistake in the file.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# Answer codes are shown on buttons and stored, so they stay short.
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]

ERROR_TYPE = "instrument"
"""The pydantic error type of a check made here; the loader reads its field path."""


class Model(BaseModel):
    """Base for all instrument models: immutable and strict about unknown keys.

    ``extra="forbid"`` turns a misspelt key in a YAML file into an error instead of a
    silently ignored setting.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


def fail(path: Sequence[str | int], message: str) -> NoReturn:
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
    raise PydanticCustomError(ERROR_TYPE, "{path}: {detail}", {"path": joined, "detail": message})


def check_unique(
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
            fail(
                (*field, index, attribute),
                f"duplicate {what} {key!r} (also used at index {seen[key]})",
            )
        seen[key] = index


class ScaleOption(Model):
    """One answer on a scale.

    ``score`` is ``None`` for an answer that says nothing about the school (the
    quickscan's "?"), so it can be counted as "no insight" without skewing averages.
    """

    model_config = ConfigDict(coerce_numbers_to_str=True)

    code: Code
    label: Text
    score: int | None


class Scale(Model):
    """The ordered answer options shared by all items of an instrument."""

    options: tuple[ScaleOption, ...]

    @model_validator(mode="after")
    def _check(self) -> Scale:
        check_unique(self.options, attribute="code", field=("options",), what="code")
        scored = self.scored()
        if len(scored) < 2:
            fail(("options",), "a scale needs at least two scored options")
        scores: dict[int, int] = {}
        for index, option in enumerate(self.options):
            if option.score is None:
                continue
            if option.score in scores:
                fail(
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
