"""Reading chat text that may be anything: numbers, names, quotes and limits.

Every text from a chat is hostile: any Unicode, any length, NUL and control
characters, non-ASCII digits (``²``, ``３``, ``٣``) and numbers too large for a
database column. ``str.isdigit`` and ``int`` accept several of those, so numbers
are read here, as ASCII digits within documented bounds, and unknown input is only
ever echoed bounded and cleaned. One module, so each command cannot get it
slightly wrong in its own way.
"""

from __future__ import annotations

import re
import unicodedata

from conversations.core.limits import MESSAGE_MAX_CHARS

# An echo of unknown input quotes at most this many characters (then an ellipsis):
# enough to recognise a typo, too little to turn the bot into a loudspeaker.
QUOTE_MAX_CHARS = 40
ELLIPSIS = "…"

# Display names come from the platform but are chosen by people; they are shown in
# announcements, so they are cleaned and capped like any other text.
DISPLAY_NAME_MAX_CHARS = 64

# A user reference typed in a command (``/quickscan coordinator @naam``). It is
# announced in the channel, so it is held to the echo limit; platform ids (Slack
# ``U…``, Telegram numbers and usernames of at most 32) and console names fit.
USER_REF_MAX_CHARS = QUOTE_MAX_CHARS

# Any message the bot reads is at most as long as one it may send (Telegram's own
# message limit); longer input is refused before it reaches a command or the database.
INPUT_MAX_CHARS = MESSAGE_MAX_CHARS

# An answer to an open question of the quickscan's closing page.
OPEN_ANSWER_MAX_CHARS = 1000

# More digits than this cannot be within any bound the bot uses; checking the length
# first keeps ``int`` from parsing (or refusing) thousands of digits.
_MAX_DIGITS = 9
_ASCII_INT = re.compile(rf"[0-9]{{1,{_MAX_DIGITS}}}", re.ASCII)
_ALLOWED_CONTROLS = frozenset("\t\n\r")
# Bidi embeddings, overrides and isolates: in a shown name or echo they reverse or
# reorder the rest of the bot's sentence ("\u202eevE heeft ... gestart"). Stored text
# keeps them (an answer in Arabic or Hebrew may need them); shown names drop them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def parse_bounded_int(text: str, *, low: int, high: int) -> int | None:
    """The whole ``text`` as an ASCII decimal number within ``low..high``, else None.

    ``"²".isdigit()`` is True and ``int("３")`` is 3; neither is a number a person
    meant to type here, and ``int`` of twenty digits overflows a database column.
    Surrounding whitespace is allowed; signs, underscores and exponents are not.
    """
    candidate = text.strip()
    if _ASCII_INT.fullmatch(candidate) is None:
        return None
    value = int(candidate)
    return value if low <= value <= high else None


def is_safe_text(text: str) -> bool:
    """Whether ``text`` can be stored and shown as it is.

    No NUL (PostgreSQL refuses it in text), no other control characters except tab
    and line breaks (they garble terminals, exports and logs), and no lone
    surrogates (they cannot be encoded as UTF-8 at all; JSON and the console's
    ``surrogateescape`` can produce them).
    """
    return all(_is_safe_char(char) for char in text)


def _is_safe_char(char: str) -> bool:
    if char in _ALLOWED_CONTROLS:
        return True
    return unicodedata.category(char) not in {"Cc", "Cs"}


def clean(text: str) -> str:
    """``text`` without control characters, bidi overrides and lone surrogates (line
    breaks become spaces).

    For text the bot shows but did not ask for (names, echoes), where refusing is
    not an option.
    """
    kept = (
        " " if char in _ALLOWED_CONTROLS else char
        for char in text
        if char in _ALLOWED_CONTROLS or (_is_safe_char(char) and char not in _BIDI_CONTROLS)
    )
    return "".join(kept)


def quote(text: str, *, limit: int = QUOTE_MAX_CHARS) -> str:
    """A bounded, cleaned echo of unknown input: at most ``limit`` characters plus "…".

    A 100 kB line or a string of control characters must never come back whole.
    """
    shown = " ".join(clean(text).split())
    if len(shown) <= limit:
        return shown
    return shown[:limit].rstrip() + ELLIPSIS


def clean_display_name(name: str, *, fallback: str) -> str:
    """A platform display name fit to show: cleaned, single-spaced, capped.

    An empty result (a name of only control characters) becomes the cleaned
    ``fallback`` (the user id), so announcements never show a blank name.
    """
    shown = quote(name, limit=DISPLAY_NAME_MAX_CHARS)
    if shown:
        return shown
    return quote(fallback, limit=DISPLAY_NAME_MAX_CHARS) or "?"


def user_ref(text: str) -> str | None:
    """The user named in ``@naam`` (the leading ``@`` optional), or None if unusable.

    Platform ids and console names are short and printable; anything else cannot
    name a member and would only be stored and echoed.
    """
    user = text.removeprefix("@")
    if not user or len(user) > USER_REF_MAX_CHARS or not user.isprintable():
        return None
    return user


_DECIMAL = re.compile(r"([0-9]{1,3})(?:[.,]([0-9]{1,2}))?", re.ASCII)


def parse_bounded_decimal(text: str, *, low: float, high: float) -> float | None:
    """An ASCII decimal like ``30``, ``2,5`` or ``2.5`` within ``low..high``, else None.

    ``float`` accepts ``nan``, ``inf``, ``1e3``, ``1_0`` and Arabic-Indic digits;
    none of those is a threshold a coordinator meant to type.
    """
    match = _DECIMAL.fullmatch(text.strip())
    if match is None:
        return None
    value = float(f"{match[1]}.{match[2] or '0'}")
    return value if low <= value <= high else None
