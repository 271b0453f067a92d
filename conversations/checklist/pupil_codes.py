"""What a teacher may type as a pupil code: initials or a number, never a name.

The checklist only needs to tell a teacher's own pupils apart. A code such as
``AB``, ``AvdB``, ``L07`` or ``12`` does that; a name (``Sanne``,
``Anne-Marie Jansen``, ``J. de Vries``) is more than needed (AVG data
minimisation) and identifies a child to anyone who sees the database, an export
or a backup. So codes are short and plain, and anything that reads like a name is
refused with the advice to use initials or a number.
"""

from __future__ import annotations

import enum
import unicodedata

from storage.checklist.records import LABEL_MAX_CHARS

CODE_MAX_CHARS = LABEL_MAX_CHARS
"""Room for initials or a code with a group number (``AvdB-8b-12``); a name rarely fits."""

INITIALS_MAX_LETTERS = 4
"""Initials are at most four letters in a row (``AvdB``); five or more is a word."""

_SHORTEST_WORD = 3
"""Two letters are initials, whatever they are (``Bo`` included: a known limit)."""
_SEPARATORS = frozenset("-._/#")
_VOWELS = frozenset("aeiouy")


class CodeProblem(enum.StrEnum):
    """Why a text is not accepted as a pupil code (the catalogue explains each)."""

    NAME = "name"  # reads like a (first) name
    TOO_LONG = "too_long"  # more than CODE_MAX_CHARS characters
    CHARACTERS = "characters"  # a space, a control or another character a code does not need


def _letter_kind(char: str) -> str:
    """ "vowel", "consonant" or "other" (a letter of a script without Latin vowels)."""
    base = unicodedata.normalize("NFD", char)[0].lower()
    if base in _VOWELS:
        return "vowel"
    if base.isascii():
        return "consonant"
    return "other"


def _reads_like_a_word(run: str) -> bool:
    """Whether a run of letters is a word (a name) rather than initials.

    Five letters or more are never initials. Up to four, capitals are initials
    (``JBO``, ``AEB``: people write initials in capitals, names not). Otherwise
    initials have no consonant followed by a vowel (``AvdB``, ``JdV``, ``ab``),
    where a name of three or more letters nearly always has one (``Tim``,
    ``Emma``, ``sanne``); letters of a script without Latin vowels are only
    accepted as one or two, or in capitals.
    """
    if len(run) > INITIALS_MAX_LETTERS:
        return True
    if len(run) < _SHORTEST_WORD or run.isupper():
        return False
    kinds = [_letter_kind(char) for char in run]
    if "other" in kinds:
        return True
    return any(
        first == "consonant" and second == "vowel"
        for first, second in zip(kinds, kinds[1:], strict=False)
    )


def pupil_code_problem(text: str) -> CodeProblem | None:
    """Why ``text`` (one line, already stripped) cannot be a pupil code; None if it can.

    The rule, in the order it is checked:

    * Every run of letters (split at spaces, digits and ``- . _ / #``) must be
      initials: at most four letters; from three letters on either all capitals
      or without a consonant followed by a vowel. ``AB``, ``ab``, ``AvdB``,
      ``JdV``, ``JBO`` pass; ``Sanne``, ``sanne``, ``Tim``, ``Anne-Marie``,
      ``J. de Vries`` are names (``NAME``). Digits are welcome: ``12``, ``L07``,
      ``AB12``, ``8b-03``.
    * At most ``CODE_MAX_CHARS`` characters (``TOO_LONG``).
    * Only letters, ASCII digits and ``- . _ / #``: no spaces, no control or
      invisible characters (any Unicode category C*, NUL included), no other
      digits (``３``, ``٣``), no compatibility letters (fullwidth ``ＡＢ`` would look
      exactly like ``AB``), no emoji or quotes (``CHARACTERS``).

    The name check comes first so that a full name gets the advice it needs rather
    than a remark about its length or its spaces. Known limits: two-letter names
    (``Bo``, ``Li``), short names in capitals (``TIM``) and names without a
    consonant before a vowel (``Ian``) pass; the advice in the class intro asks
    for initials or numbers all the same.
    """
    runs: list[str] = []
    current: list[str] = []
    for char in text:
        if char.isalpha():
            current.append(char)
            continue
        if current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    if any(_reads_like_a_word(run) for run in runs):
        return CodeProblem.NAME
    if len(text) > CODE_MAX_CHARS:
        return CodeProblem.TOO_LONG
    for char in text:
        if char in _SEPARATORS or ("0" <= char <= "9"):
            continue
        # A compatibility form (fullwidth ``Ａ``, ligature ``ﬁ``) would be a second
        # code that looks exactly like an existing one.
        if char.isalpha() and unicodedata.normalize("NFKC", char) == char:
            continue
        return CodeProblem.CHARACTERS
    return None
