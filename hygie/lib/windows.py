"""Sliding time windows over journal events, for the anomaly alerts. Pure logic.

Each function takes events already sorted by time as (time, event id[, value]) and returns the
ids of the events that belong to at least one window crossing the threshold, so that an alert
can point at exactly the events that made it.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Hashable, Iterable
from datetime import datetime, timedelta


def bursts(events: Iterable[tuple[datetime, int]], window: timedelta, threshold: int) -> list[int]:
    """Ids of events in any window of length `window` that holds at least `threshold` events."""
    flagged: set[int] = set()
    current: deque[tuple[datetime, int]] = deque()
    for at, event_id in events:
        current.append((at, event_id))
        while current[0][0] <= at - window:
            current.popleft()
        if len(current) >= threshold:
            flagged.update(i for _, i in current)
    return sorted(flagged)


def distinct_bursts(
    events: Iterable[tuple[datetime, int, Hashable]], window: timedelta, threshold: int
) -> tuple[list[int], int]:
    """Ids of events in any window holding more than `threshold` distinct values, and the
    largest number of distinct values seen in one window."""
    flagged: set[int] = set()
    current: deque[tuple[datetime, int, Hashable]] = deque()
    counts: Counter[Hashable] = Counter()
    peak = 0
    for at, event_id, value in events:
        current.append((at, event_id, value))
        counts[value] += 1
        while current[0][0] <= at - window:
            _, _, old = current.popleft()
            counts[old] -= 1
            if not counts[old]:
                del counts[old]
        peak = max(peak, len(counts))
        if len(counts) > threshold:
            flagged.update(i for _, i, _ in current)
    return sorted(flagged), peak


def hourly_distinct_median(events: Iterable[tuple[datetime, Hashable]]) -> float:
    """Median, over the clock hours with any activity, of the distinct values seen in the hour.
    0 when there was no activity at all."""
    per_hour: dict[datetime, set[Hashable]] = {}
    for at, value in events:
        per_hour.setdefault(at.replace(minute=0, second=0, microsecond=0), set()).add(value)
    sizes = sorted(len(v) for v in per_hour.values())
    if not sizes:
        return 0.0
    mid = len(sizes) // 2
    return float(sizes[mid]) if len(sizes) % 2 else (sizes[mid - 1] + sizes[mid]) / 2
