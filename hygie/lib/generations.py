"""Which backups to keep: the newest of each of the last N days, weeks and months that have
one (the rule of restic's --keep-daily / --keep-weekly / --keep-monthly). The newest backup is
always kept. Days, weeks and months are those of the practice's time zone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo


def kept(times: Mapping[str, datetime], *, daily: int, weekly: int, monthly: int, tz: tzinfo) -> set[str]:
    newest_first = sorted(times, key=lambda name: (times[name], name), reverse=True)
    keep: set[str] = set(newest_first[:1])
    rules = (
        (daily, lambda t: t.date()),
        (weekly, lambda t: t.isocalendar()[:2]),
        (monthly, lambda t: (t.year, t.month)),
    )
    for count, bucket_of in rules:
        seen: set[object] = set()
        for name in newest_first:
            if len(seen) >= count:
                break
            bucket = bucket_of(times[name].astimezone(tz))
            if bucket not in seen:
                seen.add(bucket)
                keep.add(name)
    return keep
