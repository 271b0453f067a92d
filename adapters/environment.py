"""Settings read from environment variables with pydantic-settings, failing in one line.

Every settings class (start-up, Slack, Telegram) derives from :class:`EnvSettings`
so they all behave alike: the environment is a mapping handed in (the process
environment in production, a dict in tests, never both mixed), each field names
its variable explicitly, and an unusable value stops the bot with one line that
names the variable. A pydantic ``ValidationError`` is never shown as it is: its
text spans several lines and quotes the input, which may be a token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import SecretStr, ValidationError
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

_SHOWN_CHARACTERS = 20  # of a wrong (non-secret) value in an error message


class EnvSettings(BaseSettings):
    """A frozen settings object whose fields are read from named variables only.

    A field declares its variable as ``validation_alias``; nothing else (no
    ``.env`` file, no secrets directory, no prefix guessing) is consulted, so what
    a deployment sets is exactly what the bot reads.
    """

    # validate_default off: the validators read variables' text, a default is a value.
    model_config = SettingsConfigDict(
        case_sensitive=True, frozen=True, extra="ignore", validate_default=False
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the mapping :meth:`read` passes in: tests must not see the real environment."""
        del settings_cls, env_settings, dotenv_settings, file_secret_settings
        return (init_settings,)

    @classmethod
    def variables(cls) -> tuple[str, ...]:
        """The environment variables this class reads, in field order."""
        return tuple(
            field.validation_alias
            for field in cls.model_fields.values()
            if isinstance(field.validation_alias, str)
        )

    @classmethod
    def read(cls, *, environ: Mapping[str, str], error: type[ValueError]) -> Self:
        """Build the settings from ``environ``.

        Raises:
            ValueError: of the class ``error``, with one line naming each wrong
                variable and what is wrong with it.
        """
        given = {name: environ[name] for name in cls.variables() if name in environ}
        try:
            return cls(**given)
        except ValidationError as invalid:
            # ``from None``: the ValidationError quotes the input, which may be a token.
            raise error(one_line(invalid)) from None


def one_line(invalid: ValidationError) -> str:
    """Every problem as ``VARIABLE what is wrong``, joined into one line."""
    problems: list[str] = []
    for problem in invalid.errors(include_url=False, include_input=False):
        where = " ".join(str(part) for part in problem["loc"])
        if problem["type"] == "missing":
            text = f"{where} is not set"
        else:
            text = f"{where} {problem['msg']}" if where else problem["msg"]
        problems.append(" ".join(text.split()))
    return "; ".join(problems)


def wrong(message: str) -> PydanticCustomError:
    """A validation error whose message is shown as written, after the variable's name."""
    return PydanticCustomError("quickscan_setting", message)


def shown(raw: Any) -> str:
    """A wrong value as it may appear in a message: quoted, one line, cut short.

    Only for variables that are not secrets; a secret is never echoed.
    """
    return repr(str(raw)[:_SHOWN_CHARACTERS])


def stripped(raw: Any) -> str:
    """A variable's text without surrounding blanks (an unset one reads as empty)."""
    return "" if raw is None else str(raw).strip()


def whole_number(raw: Any, *, low: int, high: int) -> int:
    """A whole number ``low``..``high`` written in ASCII digits (no sign, no '_', no '٣').

    Raises:
        PydanticCustomError: anything else, with the text that was given.
    """
    text = stripped(raw)
    if text.isascii() and text.isdigit() and len(text) <= len(str(high)):
        number = int(text)
        if low <= number <= high:
            return number
    raise wrong(f"must be a whole number from {low} to {high} (got {shown(text)})")


def revealed(secret: SecretStr | None) -> str:
    """A secret's value for the one SDK call that needs it; empty when it is not set."""
    return "" if secret is None else secret.get_secret_value()
