"""The paired survey: every statement answered twice, for experience and for importance.

Seed 003 (a learning community's "Vragenlijst aan mentoren") asks eleven statements
in four sections, first as experience ("ervaringen": does it happen?) and then as
importance ("belang": should it?). The importance list words each statement anew and
puts the last section in another order, so a statement is the *pair* of an
experience item and an importance item, matched by content in the file, never by
number.

Each list prints its own 4-point scale labels per section (``niet … goed``,
``nooit … altijd``); the file names a scale per list and section. The result merges
the four answers into three categories (seed 003, 5.2.4: "nooit"/"niet" joins
"nauwelijks"), again per list, so the file says which scores each category holds.

Everything here is checked when the file is loaded, with the field path of the
first mistake, so a broken survey never reaches a respondent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import Field, model_validator

from conversations.instrument.base import Id, Model, Scale, Text, check_unique, fail


class Section(Model):
    """A heading that groups statements in both lists (Algemeen, Wederkerigheid, …)."""

    id: Id
    name: Text


class PairedItem(Model):
    """One statement as one list asks it.

    ``id`` is what the answer is stored under (never reuse it); ``number`` is the
    number printed before the statement in its list.
    """

    id: Id
    number: Annotated[int, Field(ge=1)]
    section: Id
    text: Text


class Instruction(Model):
    """An instruction line of a list, shown with the items from ``before`` on."""

    before: Annotated[int, Field(ge=1)]
    text: Text


class Category(Model):
    """One of the three categories the result merges the scale's answers into."""

    label: Text
    scores: tuple[int, ...] = Field(min_length=1)


class Categories(Model):
    """The result's categories of one list, from the best answer down.

    For experience the seed shows "goed / redelijk / nauwelijks / niet", for
    importance "zeer belangrijk / redelijk belangrijk / nauwelijks / niet".
    """

    high: Category
    middle: Category
    low: Category

    def ordered(self) -> tuple[Category, Category, Category]:
        """High, middle, low: the order of every table and bar."""
        return (self.high, self.middle, self.low)


class SurveyList(Model):
    """One of the two lists (experience or importance), asked as printed.

    Attributes:
        id: Short id ("ervaring", "belang").
        name: How the list is called in headers and results ("Ervaring").
        title: The list's printed title.
        scales: Per section id the name of its scale in ``PairedSurvey.scales``;
            a section not named here uses the instrument's ``scale``.
        categories: How the result merges the scale's scores.
        instructions: The printed instruction lines, each from an item number on.
        items: The statements in printed order.
    """

    id: Id
    name: Text
    title: Text
    scales: Mapping[Id, Id] = Field(default_factory=dict)
    categories: Categories
    instructions: tuple[Instruction, ...]
    items: tuple[PairedItem, ...]

    @model_validator(mode="after")
    def _check(self) -> SurveyList:
        check_unique(self.items, attribute="id", field=("items",), what="item id")
        check_unique(self.items, attribute="number", field=("items",), what="item number")
        check_unique(self.instructions, attribute="before", field=("instructions",), what="item")
        if not self.items:
            fail(("items",), "a list needs at least one item")
        numbers = {item.number for item in self.items}
        for index, instruction in enumerate(self.instructions):
            if instruction.before not in numbers:
                fail(
                    ("instructions", index, "before"),
                    f"there is no item number {instruction.before} in this list",
                )
        first = self.items[0].number
        if not any(instruction.before == first for instruction in self.instructions):
            fail(("instructions",), f"the first item ({first}) needs an instruction line")
        return self

    def instruction_for(self, item: PairedItem) -> str:
        """The instruction in force at ``item``: the last one printed at or before it.

        Raises:
            ValueError: The item is not part of this list.
        """
        printed = {instruction.before: instruction.text for instruction in self.instructions}
        text = ""
        for entry in self.items[: self.items.index(item) + 1]:
            text = printed.get(entry.number, text)
        return text


class Pair(Model):
    """A statement: its experience item and its importance item, matched by content."""

    name: Text
    experience: Id
    importance: Id


class PairedSurvey(Model):
    """Experience and importance per statement, each on the scales the seed prints.

    Attributes:
        scales: Named scales the lists refer to per section.
        sections: The sections, in printed order.
        experience: The experience list, asked first.
        importance: The importance list, asked second.
        pairs: One per statement, in the order the result lists them.
    """

    scales: Mapping[Id, Scale] = Field(default_factory=dict)
    sections: tuple[Section, ...]
    experience: SurveyList
    importance: SurveyList
    pairs: tuple[Pair, ...]

    @model_validator(mode="after")
    def _check(self) -> PairedSurvey:
        check_unique(self.sections, attribute="id", field=("sections",), what="section id")
        check_unique(self.pairs, attribute="experience", field=("pairs",), what="item")
        check_unique(self.pairs, attribute="importance", field=("pairs",), what="item")
        experience_ids = {item.id for item in self.experience.items}
        for index, item in enumerate(self.importance.items):
            if item.id in experience_ids:
                fail(
                    ("importance", "items", index, "id"),
                    f"item id {item.id!r} is also used in the experience list",
                )
        section_ids = [section.id for section in self.sections]
        for field_name, survey_list in self._lists():
            self._check_list(field_name, survey_list, section_ids)
        for index, pair in enumerate(self.pairs):
            for field_name, survey_list in self._lists():
                item_id = getattr(pair, field_name)
                if not any(item.id == item_id for item in survey_list.items):
                    fail(
                        ("pairs", index, field_name),
                        f"{item_id!r} is not an item of the {field_name} list",
                    )
        for field_name, survey_list in self._lists():
            paired = {getattr(pair, field_name) for pair in self.pairs}
            for index, item in enumerate(survey_list.items):
                if item.id not in paired:
                    fail((field_name, "items", index), f"item {item.id!r} is in no pair")
        return self

    def _lists(self) -> tuple[tuple[str, SurveyList], tuple[str, SurveyList]]:
        return (("experience", self.experience), ("importance", self.importance))

    def _check_list(self, field_name: str, survey_list: SurveyList, sections: list[str]) -> None:
        """Sections and scales resolve, and the categories split every scale used."""
        for index, item in enumerate(survey_list.items):
            if item.section not in sections:
                fail(
                    (field_name, "items", index, "section"),
                    f"section {item.section!r} is not defined",
                )
        for section, scale_name in survey_list.scales.items():
            if section not in sections:
                fail((field_name, "scales", section), f"section {section!r} is not defined")
            if scale_name not in self.scales:
                fail(
                    (field_name, "scales", section),
                    f"scale {scale_name!r} is not defined in 'scales'",
                )
        assigned: set[int] = set()
        for name in ("high", "middle", "low"):
            for score in getattr(survey_list.categories, name).scores:
                if score in assigned:
                    fail(
                        (field_name, "categories", name, "scores"),
                        f"score {score} is in more than one category",
                    )
                assigned.add(score)

    def check_scales(self, *, default: Scale) -> None:
        """Every item's scale is fully scored and split by its list's categories.

        Called by the instrument, which holds ``default`` (the scale of a section
        that names none). Every answer must fall in exactly one of the three result
        categories, or the shares would not add up to the whole.

        Args:
            default: The instrument's scale.
        """
        scales = {**self.scales}
        for field_name, survey_list in self._lists():
            categories = survey_list.categories
            assigned = {score for c in categories.ordered() for score in c.scores}
            for index, item in enumerate(survey_list.items):
                scale_name = survey_list.scales.get(item.section)
                scale = default if scale_name is None else scales[scale_name]
                where = ("paired", field_name, "items", index)
                if any(option.score is None for option in scale.options):
                    fail(
                        (*where, "section"),
                        f"the scale of section {item.section!r} has an option without a"
                        " score; every answer of a paired survey needs one",
                    )
                scores = {option.score for option in scale.options if option.score is not None}
                if scores != assigned:
                    fail(
                        ("paired", field_name, "categories"),
                        f"the categories hold scores {sorted(assigned)}, but the scale of"
                        f" section {item.section!r} has {sorted(scores)}",
                    )

    def items(self) -> tuple[PairedItem, ...]:
        """Every item in asking order: the experience list, then the importance list."""
        return (*self.experience.items, *self.importance.items)

    def list_of(self, item: PairedItem) -> SurveyList:
        """The list an item belongs to.

        Raises:
            KeyError: The item is not part of this survey.
        """
        for survey_list in (self.experience, self.importance):
            if item in survey_list.items:
                return survey_list
        raise KeyError(item.id)

    def section(self, section_id: str) -> Section:
        """The section with this id.

        Raises:
            KeyError: There is no such section.
        """
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    def scale_of(self, item: PairedItem, *, default: Scale) -> Scale:
        """The scale an item is answered on: its list's scale for its section, or ``default``.

        Raises:
            KeyError: The item is not part of this survey.
        """
        scale_name = self.list_of(item).scales.get(item.section)
        return default if scale_name is None else self.scales[scale_name]

    def scales_used(self, *, default: Scale) -> tuple[Scale, ...]:
        """Every distinct scale an item is answered on, in asking order.

        Args:
            default: The instrument's scale (of a section that names none).
        """
        found: list[Scale] = []
        for item in self.items():
            scale = self.scale_of(item, default=default)
            if scale not in found:
                found.append(scale)
        return tuple(found)

    def answer_codes(self, *, default: Scale) -> tuple[str, ...]:
        """Every answer code of the survey, lowest score first: what the intro promises.

        Every option of a paired survey is scored (:meth:`check_scales`).
        """
        scales = self.scales_used(default=default)
        options = [option for scale in scales for option in scale.options]
        options.sort(key=lambda option: option.score or 0)
        return tuple(dict.fromkeys(option.code for option in options))

    def item(self, item_id: str) -> PairedItem:
        """The item with this id, in either list.

        Raises:
            KeyError: There is no such item.
        """
        for item in self.items():
            if item.id == item_id:
                return item
        raise KeyError(item_id)
