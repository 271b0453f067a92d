"""Reading instrument files: every YAML file validated at start, errors named by field.

A broken file would otherwise surface only halfway through somebody's quickscan,
so every file is loaded and fully cross-checked at start, and each problem is
reported with the file and the field path so the person editing the YAML can
find it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import Field, TypeAdapter, ValidationError

from conversations.instrument.base import ERROR_TYPE
from conversations.instrument.checklist import Checklist
from conversations.instrument.quickscan import Quickscan

_MAX_REPORTED_ERRORS = 10

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
    return Path(__file__).resolve().parent.parent / "instruments"


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
        if item["type"] == ERROR_TYPE:
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
