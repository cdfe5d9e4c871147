"""Keep patient data out of log lines.

Hygie never puts patient data in a URL (searches are POSTed, ids are random UUIDs), but a
library may log a request path with its query string: the query string is cut here.
"""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"\?[^\s\"']*")


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
            except (TypeError, ValueError):
                record.msg = str(record.msg)
            record.args = None
        record.msg = _QUERY.sub("?…", str(record.msg))
        # Django attaches the request to error records: its body must never be formatted.
        if hasattr(record, "request"):
            record.request = None
        return True
