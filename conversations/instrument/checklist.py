"""The per-pupil checklist: statements in groups, scored on one scale, twice a year."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from conversations.instrument.base import Id, Model, Scale, Text, check_unique, fail


class ChecklistGroup(Model):
    """A heading that groups checklist statements (contact, samenwerking, achtergrond)."""

    id: Id
    name: Text


class Statement(Model):
    """A checklist statement a teacher scores for one pupil."""

    id: Id
    group: Id
    text: Text


class Checklist(Model):
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
        check_unique(self.groups, attribute="id", field=("groups",), what="group id")
        check_unique(self.statements, attribute="id", field=("statements",), what="statement id")
        if not self.statements:
            fail(("statements",), "a checklist needs at least one statement")
        group_ids = {group.id for group in self.groups}
        for index, statement in enumerate(self.statements):
            if statement.group not in group_ids:
                fail(("statements", index, "group"), f"group {statement.group!r} is not defined")
        for index, group in enumerate(self.groups):
            if not any(statement.group == group.id for statement in self.statements):
                fail(("groups", index), f"group {group.id!r} has no statements")
        return self
