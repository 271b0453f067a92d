"""Logging without content: ids and error types only, never a message text or answer.

Exceptions from the database or the SDK can carry statement parameters or
request bodies in their messages, so only the exception type and the stack
frames (code lines, no values) are logged.
"""

from __future__ import annotations

import logging
import traceback


def log_failure(logger: logging.Logger, what: str, error: BaseException, **ids: object) -> None:
    """Log that ``what`` failed, with the error type, the stack and ``ids``, nothing else."""
    where = "".join(traceback.format_tb(error.__traceback__))
    context = " ".join(f"{name}={value}" for name, value in sorted(ids.items()))
    logger.error("%s failed: %s %s\n%s", what, type(error).__name__, context, where)


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
