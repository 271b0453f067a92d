"""Logging without content: ids and error codes only, never a message text or answer.

Exceptions from the database or the SDK can carry statement parameters or
request bodies in their messages, so failures are logged with
:func:`bot.core.logging_setup.log_failure` (type and frames), and Web API errors by
their error code.
"""

from __future__ import annotations

from bot.core.logging_setup import log_failure

__all__ = ["api_error_code", "log_failure"]


def api_error_code(error: BaseException) -> str:
    """The Web API's error code of a SlackApiError (``channel_not_found``), else the type."""
    response = getattr(error, "response", None)
    if response is not None:
        try:
            code = response.get("error")
        except AttributeError:
            code = None
        if isinstance(code, str):
            return code
    return type(error).__name__
