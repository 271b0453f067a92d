"""The message catalogue: every text the bot says, Dutch by default.

Catalogues are TOML files in ``conversations/core/locale``; a missing key in a non-default
locale falls back to Dutch so a partial translation never breaks the bot.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

DEFAULT_LOCALE = "nl"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


@cache
def available_locales() -> tuple[str, ...]:
    """The locales that have a main catalogue file (``nl.toml``), default first.

    Read once: the files ship with the code, and every event builds a catalogue.
    """
    names = sorted(path.stem for path in LOCALE_DIR.glob("*.toml") if "." not in path.stem)
    return (DEFAULT_LOCALE, *[name for name in names if name != DEFAULT_LOCALE])


@cache
def _load(locale: str) -> Mapping[str, str]:
    """The main file ``nl.toml`` merged with its parts ``nl.<subsystem>.toml``.

    Each subsystem keeps its texts in a part of its own, so the catalogue does not
    become one file everybody edits; a key defined twice is a programming error.
    """
    flat: dict[str, str] = {}
    paths = [LOCALE_DIR / f"{locale}.toml", *sorted(LOCALE_DIR.glob(f"{locale}.*.toml"))]
    for path in paths:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        part: dict[str, str] = {}
        _flatten(prefix="", node=data, into=part)
        clash = sorted(set(part) & set(flat))
        if clash:
            raise ValueError(f"{path.name} redefines catalogue keys: {', '.join(clash[:5])}")
        flat.update(part)
    return flat


def _flatten(*, prefix: str, node: Mapping[str, Any], into: dict[str, str]) -> None:
    for name, value in node.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            _flatten(prefix=f"{key}.", node=value, into=into)
        else:
            into[key] = str(value)


def _known(locale: str) -> str:
    return locale if locale in available_locales() else DEFAULT_LOCALE


def catalogue_keys(locale: str) -> frozenset[str]:
    """All keys of one catalogue (tests compare them across locales)."""
    return frozenset(_load(locale))


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

        Raises:
            KeyError: when the key is in no catalogue: a programming error the
                tests must catch, not a text to show.
        """
        texts = _load(self.locale)
        template = texts.get(key)
        if template is None:
            template = _load(DEFAULT_LOCALE)[key]
        return template.format(**values) if values else template
