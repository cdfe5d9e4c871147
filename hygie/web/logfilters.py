"""Keep patient data out of log lines.

Hygie never puts patient data in a URL (searches are POSTed, ids are random UUIDs), but Django
and libraries log request paths: "Forbidden (CSRF token missing.): /patients/<uuid>/…".
A patient's UUID is an identifier of that patient: a log line must not carry it. Here, in every
record (message, arguments, formatted traceback):

- a query string is cut;
- a UUID becomes a short id, `id:1a2b3c4d`: a keyed hash under a key drawn at each start of the
  process, so the same UUID gives the same id in the lines of one run (lines can be read
  together) but nobody, even with the database, can tell which record it was. The journal, not
  the log, says who opened which record (the X-Request-Id of a response is in both).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets

_QUERY = re.compile(r"\?[^\s\"']*")
# The form of every id in Hygie's URLs (<uuid:public_id>), and of UUID('…') in a traceback.
_UUID = re.compile(r"(?<![0-9a-f])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-f])", re.I)
_KEY = secrets.token_bytes(32)  # per process, never written anywhere
_FORMATTER = logging.Formatter()


def short_id(value: str) -> str:
    """The log's stand-in for an identifier (stable within this process only)."""
    canonical = value.replace("-", "").lower().encode()
    return "id:" + hashlib.blake2b(canonical, key=_KEY, digest_size=4).hexdigest()


def redact(text: str) -> str:
    text = _QUERY.sub("?…", text)
    return _UUID.sub(lambda match: short_id(match.group(0)), text)


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
            except (TypeError, ValueError):
                record.msg = str(record.msg)
            record.args = None
        record.msg = redact(str(record.msg))
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text: format the traceback once here, redacted.
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        # Django attaches the request to error records: its body must never be formatted.
        if hasattr(record, "request"):
            record.request = None
        return True
