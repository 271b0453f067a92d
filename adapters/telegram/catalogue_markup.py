"""Which ``*bold*`` and ``_italic_`` markers in an engine text are the bot's own.

The engine writes plain text in which the catalogue's templates mark headings
with ``*bold*`` and ``_italic_``, and fills in names, answers, pupil codes and
instrument texts. Only the catalogue's markers may become Telegram HTML tags: a
colleague who types ``*vet*`` as an open answer or calls themselves ``_Anna_``
must see exactly that, in the group and in private.

The neutral text does not say which characters came from a template, so this
module works it out from the templates themselves. Every line of every catalogue
template that carries a marker becomes a pattern: its literal text must match
exactly, each ``{field}`` matches anything. A line of the engine's text that
matches such a pattern gets that template's tags, and the parts filled in for its
fields are rendered the same way again (a field may hold another template's
line) or else escaped as they are. A line that matches no pattern has no markup
at all: every character is shown. Catalogue lines always carry literal text next
to their markers, so a typed line never passes for one of them unless it copies
one word for word (and then it is still escaped HTML, only bold).

A few lines are built by code rather than by a catalogue template
(:data:`CODE_TEMPLATES`); they are listed here in the same notation. One of them
is nothing but a marked field (an open question's title in italics): it would
match any typed line in markers, so it counts only when the field is a text of
the instruments (``trusted``), never for what someone typed.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from conversations.core.i18n import available_locales, catalogue_keys, template_forms
from conversations.instrument import Checklist, Quickscan

# Markers count only at word edges (not beside a letter or digit), so
# "werkpunt_gemiddelde" or "2 * 3" in a template stay as they are.
_BOLD_RE = re.compile(r"(?<![^\W_]|\*)\*(?=\S)([^*\n]+?)(?<=\S)\*(?![^\W_]|\*)")
_ITALIC_RE = re.compile(r"(?<![^\W_]|_)_(?=\S)([^_\n]+?)(?<=\S)_(?![^\W_]|_)")
_MENTION_RE = re.compile(r"@(?=\w)")
_FIELD = "\ue000"  # stands for a field while the template's markers are located
_TAGS = {"*": "b", "_": "i"}
MAX_MATCH_CHARS = 1000  # longer lines are shown without markup (no catalogue line is)
MAX_DEPTH = 4  # fields within fields within fields: templates nest two deep at most

# Lines with markup that engine code builds itself, in the catalogue's notation:
# the open questions' titles (result and review), the checklist's team figures
# and a pupil's chosen scores.
CODE_TEMPLATES = (
    "_{question}_",
    "{number}. {statement}: *{figure}*{change}",
    "{number}. {statement} → *{code}* ({label})",
)


@dataclass(frozen=True, slots=True)
class _Pattern:
    """One template line: how to recognise it, and where its markers are."""

    regex: re.Pattern[str]
    chunks: tuple[str, ...]  # its literal parts in order, for a quick pre-check
    skeleton: str  # the line with each field as _FIELD
    tags: dict[int, str]  # skeleton position of a marker -> "<b>", "</b>", ...
    weight: int  # literal characters: the most specific pattern wins
    bare: bool  # nothing but markers around fields: its fields must be trusted texts

    def match(self, line: str) -> list[str] | None:
        """The text of each field when ``line`` is this template's line, else None.

        Cheap checks first (the literal parts in order, the fixed start and end), so
        the regex runs only on likely lines.
        """
        head, tail = self.skeleton[:1], self.skeleton[-1:]
        if (head != _FIELD and not line.startswith(self.chunks[0])) or (
            tail != _FIELD and not line.endswith(self.chunks[-1])
        ):
            return None
        position = 0
        for chunk in self.chunks:
            position = line.find(chunk, position)
            if position < 0:
                return None
            position += len(chunk)
        found = self.regex.fullmatch(line)
        return list(found.groups()) if found is not None else None


def _parse(line: str) -> tuple[list[str], str] | None:
    """Literal parts and skeleton of a template line; None when it holds no marker."""
    try:
        parts = list(string.Formatter().parse(line))
    except ValueError:  # a stray brace: the line is never formatted, so not a template
        return None
    literals: list[str] = []
    skeleton: list[str] = []
    for literal, field, _spec, _conversion in parts:
        literals.append(literal)
        skeleton.append(literal)
        if field is not None:
            skeleton.append(_FIELD)
    joined = "".join(skeleton)
    if not (_BOLD_RE.search(joined) or _ITALIC_RE.search(joined)):
        return None
    return literals, joined


def _pattern(line: str) -> _Pattern | None:
    parsed = _parse(line)
    if parsed is None:
        return None
    literals, skeleton = parsed
    tags: dict[int, str] = {}
    for regex in (_BOLD_RE, _ITALIC_RE):
        for found in regex.finditer(skeleton):
            name = _TAGS[found[0][0]]
            tags[found.start()] = f"<{name}>"
            tags[found.end() - 1] = f"</{name}>"
    source = "".join("(.*?)" if char == _FIELD else re.escape(char) for char in skeleton)
    chunks = tuple(
        chunk
        for chunk in "".join(char if char != _FIELD else "\0" for char in skeleton).split("\0")
        if chunk
    )
    weight = sum(len(literal) for literal in literals)
    bare = not re.sub(r"[*_\s]", "", "".join(literals))
    return _Pattern(
        regex=re.compile(source),
        chunks=chunks,
        skeleton=skeleton,
        tags=tags,
        weight=weight,
        bare=bare,
    )


def _template_lines() -> Iterator[str]:
    for locale in available_locales():
        for key in sorted(catalogue_keys(locale)):
            yield from _forms(locale, key)
    yield from CODE_TEMPLATES


def _forms(locale: str, key: str) -> Iterator[str]:
    """The lines of a template; of each plural form when it has them (all may be shown)."""
    for form in template_forms(locale, key):
        yield from form.split("\n")


@cache
def patterns() -> tuple[_Pattern, ...]:
    """Every catalogue line with markup, most specific first (built once)."""
    return patterns_of(_template_lines())


def patterns_of(lines: Iterable[str]) -> tuple[_Pattern, ...]:
    """The patterns of these template lines (tests build their own)."""
    unique = dict.fromkeys(lines)
    built = [found for line in unique if (found := _pattern(line)) is not None]
    return tuple(sorted(built, key=lambda p: -p.weight))


@dataclass(frozen=True, slots=True)
class Renderer:
    """Renders engine texts for Telegram.

    Attributes:
        trusted: Texts of the instruments (questions, titles): the only values a
            bare pattern such as ``_{question}_`` may wrap.
        known: The patterns; the catalogue's and :data:`CODE_TEMPLATES` when None.
    """

    trusted: frozenset[str] = frozenset()
    known: tuple[_Pattern, ...] | None = None

    def html(self, text: str) -> str:
        """``text`` as Telegram HTML: everything escaped, the catalogue's markers as tags."""
        return self._render(text, tags=True)

    def plain(self, text: str) -> str:
        """``text`` without the catalogue's markers, every other character as it is."""
        return self._render(text, tags=False)

    def _render(self, text: str, *, tags: bool) -> str:
        known = patterns() if self.known is None else self.known
        rendered = "\n".join(
            self._line(line, tags=tags, known=known, depth=0) for line in text.split("\n")
        )
        # Telegram turns "@name" into a mention that notifies that person; a name
        # typed in an open answer must not ping a colleague from the team result.
        # A word joiner after "@" looks the same and mentions nobody.
        return _MENTION_RE.sub("@\u2060", rendered)

    def _line(self, line: str, *, tags: bool, known: Sequence[_Pattern], depth: int) -> str:
        if depth <= MAX_DEPTH and len(line) <= MAX_MATCH_CHARS and ("*" in line or "_" in line):
            for pattern in known:
                fields = pattern.match(line)
                if fields is None or (pattern.bare and not set(fields) <= self.trusted):
                    continue
                return self._fill(pattern, fields, tags=tags, known=known, depth=depth)
        return html.escape(line, quote=False) if tags else line

    def _fill(
        self,
        pattern: _Pattern,
        fields: list[str],
        *,
        tags: bool,
        known: Sequence[_Pattern],
        depth: int,
    ) -> str:
        out: list[str] = []
        values = iter(fields)
        for position, char in enumerate(pattern.skeleton):
            if position in pattern.tags:
                out.append(pattern.tags[position] if tags else "")
            elif char == _FIELD:
                out.append(self._line(next(values), tags=tags, known=known, depth=depth + 1))
            else:
                out.append(html.escape(char, quote=False) if tags else char)
        return "".join(out)


def instrument_texts(instruments: Iterable[Quickscan | Checklist]) -> frozenset[str]:
    """The texts the instruments supply (titles, questions, statements): ``Renderer.trusted``."""
    texts: set[str] = set()
    for instrument in instruments:
        texts.add(instrument.title)
        if isinstance(instrument, Quickscan):
            texts.update(question.text for question in instrument.questions)
            texts.update(question.text for question in instrument.closing.open_questions)
            texts.update(factor.short_name for factor in instrument.factors)
            texts.update(factor.sentence for factor in instrument.factors)
        else:
            texts.update(statement.text for statement in instrument.statements)
            texts.update(group.name for group in instrument.groups)
    return frozenset(texts)
