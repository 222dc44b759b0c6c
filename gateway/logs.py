"""Logging setup: one format, every line of a request naming its id, and personal identifiers
masked before any record is written."""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import TextIO

# The id of the request being handled (gateway.api.exchange sets it), "-" outside a request.
request_id: ContextVar[str] = ContextVar("request_id", default="-")

# Citizen IDs (12 digits), HI card numbers (2 letters + 13 digits), SI numbers and old ID numbers
# (9-10 digits) standing alone: everything but the last 3 characters is masked.
_IDENTIFIERS = re.compile(r"(?<![A-Za-z0-9])(?:[A-Z]{2}\d{13}|\d{12}|\d{9,10})(?![A-Za-z0-9])")
# Credentials that hospital software sends in the query string of VSS's portal API (CV 1923: the
# login's token and id_token, the username and the MD5 password), as an access log would show
# the URL: never logged (reference/IDENTITY.md section 6.3).
_QUERY_CREDENTIALS = re.compile(
    r"(?<=[?&])(token|id_token|username|password)=[^&\s\"']*", re.IGNORECASE
)


def mask(text: str) -> str:
    """``text`` with every personal identifier masked (``*********567``) and the query
    string's credentials removed (``password=***``)."""
    text = _QUERY_CREDENTIALS.sub(r"\1=***", text)
    return _IDENTIFIERS.sub(lambda m: "*" * (len(m.group()) - 3) + m.group()[-3:], text)


class MaskingFilter(logging.Filter):
    """Masks identifiers in the fully formatted message, arguments included."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        # A traceback can carry an identifier in an exception's message: format it here, masked,
        # so that the handler's formatter uses this text instead of formatting it again.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


class RequestIdFilter(logging.Filter):
    """Gives every record the id of the request it was written for (``%(request_id)s``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def handler(stream: TextIO | None = None) -> logging.Handler:
    """The one handler: writes to ``stream`` (standard error by default), masked, each line
    naming its request."""
    written = logging.StreamHandler(stream)
    written.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")
    )
    written.addFilter(RequestIdFilter())
    written.addFilter(MaskingFilter())
    return written


def configure(level: str = "INFO") -> None:
    """Send every log record (uvicorn's included) through the one handler."""
    root = logging.getLogger()
    root.handlers[:] = [handler()]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
