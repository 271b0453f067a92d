"""The message catalogue: every text the bot says, Dutch by default.

Catalogues are TOML files in ``conversations/core/locale``; a missing key in a non-default
locale falls back to Dutch so a partial translation never breaks the bot.

A text that states a number of things has plural forms: a table whose keys are
CLDR plural categories, chosen by the ``count`` value::

    invited = { one = "{count} leraar", other = "{count} leraren" }

The category of a number comes from Babel (CLDR rules per locale), not from a
rule of our own: Dutch and English only tell 1 from the rest, other languages do not.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from conversations.core.cldr import plural_category

DEFAULT_LOCALE = "nl"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


@cache
def available_locales() -> tuple[str, ...]:
    """The locales that have a main catalogue file (``nl.toml``), default first.

    Read once: the files ship with the code, and every event builds a catalogue.
    """
    names = sorted(path.stem for path in LOCALE_DIR.glob("*.toml") if "." not in path.stem)
    return (DEFAULT_LOCALE, *[name for name in names if name != DEFAULT_LOCALE])


PLURAL_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})
Template = str | Mapping[str, str]
"""A text, or its plural forms by CLDR category (always with ``other``)."""


def is_plural_table(node: Mapping[str, Any]) -> bool:
    """Whether a TOML table holds one text's plural forms rather than more keys."""
    return bool(node) and "other" in node and set(node) <= PLURAL_CATEGORIES


@cache
def _load(locale: str) -> Mapping[str, Template]:
    """The main file ``nl.toml`` merged with its parts ``nl.<subsystem>.toml``.

    Each subsystem keeps its texts in a part of its own, so the catalogue does not
    become one file everybody edits; a key defined twice is a programming error.
    """
    flat: dict[str, Template] = {}
    paths = [LOCALE_DIR / f"{locale}.toml", *sorted(LOCALE_DIR.glob(f"{locale}.*.toml"))]
    for path in paths:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        part: dict[str, Template] = {}
        _flatten(prefix="", node=data, into=part)
        clash = sorted(set(part) & set(flat))
        if clash:
            raise ValueError(f"{path.name} redefines catalogue keys: {', '.join(clash[:5])}")
        flat.update(part)
    return flat


def _flatten(*, prefix: str, node: Mapping[str, Any], into: dict[str, Template]) -> None:
    for name, value in node.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping) and is_plural_table(value):
            into[key] = {category: str(text) for category, text in value.items()}
        elif isinstance(value, Mapping):
            _flatten(prefix=f"{key}.", node=value, into=into)
        else:
            into[key] = str(value)


def _known(locale: str) -> str:
    return locale if locale in available_locales() else DEFAULT_LOCALE


def catalogue_keys(locale: str) -> frozenset[str]:
    """All keys of one catalogue (tests compare them across locales)."""
    return frozenset(_load(locale))


def template_forms(locale: str, key: str) -> tuple[str, ...]:
    """Every form a text of ``locale`` may take: one, or each of its plural forms.

    For readers of the templates themselves (the Telegram markup patterns, the
    tests), which must know every form that can be shown, not the one for a count.
    """
    template = _load(locale)[key]
    if isinstance(template, str):
        return (template,)
    return tuple(sorted(set(template.values())))


class Catalogue:
    """Texts of one locale."""

    def __init__(self, locale: str = DEFAULT_LOCALE) -> None:
        self._locale: str | None = _known(locale)
        self._resolve: Callable[[], str] | None = None

    @classmethod
    def deferred(cls, resolve: Callable[[], str]) -> Catalogue:
        """A catalogue whose locale is asked of ``resolve`` only when first needed.

        For a team whose language costs a query: an event that says nothing in
        the team's language (a member's answer, whose texts come with their
        participation) never pays for it.
        """
        catalogue = cls()
        catalogue._locale, catalogue._resolve = None, resolve
        return catalogue

    @property
    def locale(self) -> str:
        """The locale the texts are in (the default for one without a catalogue)."""
        if self._locale is None:
            self._locale = _known(self._resolve() if self._resolve else DEFAULT_LOCALE)
        return self._locale

    def t(self, key: str, /, **values: object) -> str:
        """The text for ``key`` with ``values`` filled in.

        A text with plural forms takes the form for ``values["count"]`` (an int),
        so "1 leraar" and "3 leraren" come from one key.

        Raises:
            KeyError: when the key is in no catalogue: a programming error the
                tests must catch, not a text to show.
            ValueError: a text with plural forms was asked without an int ``count``.
        """
        locale = self.locale
        template = _load(locale).get(key)
        if template is None:
            locale = DEFAULT_LOCALE
            template = _load(DEFAULT_LOCALE)[key]
        if not isinstance(template, str):
            template = self._plural(template, locale=locale, key=key, count=values.get("count"))
        return template.format(**values) if values else template

    @staticmethod
    def _plural(forms: Mapping[str, str], *, locale: str, key: str, count: object) -> str:
        if not isinstance(count, int) or isinstance(count, bool):
            raise ValueError(f"catalogue text {key!r} has plural forms: pass count=<int>")
        return forms.get(plural_category(abs(count), locale=locale), forms["other"])
