"""The journal's hash chain: canonical form of an event, RFC 6962 style hashing, verification walk.

Design (see docs/architecture.md, "Journal"): a linear chain rather than a Merkle tree. Every
event gets a gapless sequence number and

    leaf(n)  = SHA-256(0x00 || canonical(event n))
    chain(n) = SHA-256(0x01 || chain(n-1) || leaf(n)),   chain(0) = 32 zero bytes

The 0x00 / 0x01 prefixes are RFC 6962's domain separation between leaves and interior nodes,
so a leaf can never be passed off as a chain value. A linear chain is enough here: the journal
is verified as a whole (`hygie audit verify`), and a chain needs one hash per append and no
tree to store, whereas a Merkle log only pays off for inclusion proofs to third parties.

The canonical form is compact JSON with sorted keys, UTF-8, times as
"YYYY-MM-DDTHH:MM:SS.ffffffZ" in UTC. It is written by hand with the C string escaper of the
json module because `json.dumps` costs ~3 µs per call, which alone would blow the budget of
verifying a million events in under 5 s; a test checks that both give the same bytes.

No Django here: this module is pure so that it is easy to test and to review.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

GENESIS = bytes(32)
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

# json's own escaper (C-accelerated): identical output to json.dumps(..., ensure_ascii=False).
_quote = json.encoder.encode_basestring
_sha256 = hashlib.sha256

# Keys in sorted order; `details` is embedded as canonical JSON, the rest are scalars.
_TEMPLATE = (
    '{"action":%s,"actor":%s,"actor_role":%s,"at":%s,"channel":%s,"details":%s,"ip":%s,'
    '"outcome":%s,"patient":%s,"reason":%s,"request_id":%s,"seq":%s,"target_id":%s,"target_type":%s}'
)


def format_time(at: datetime) -> str:
    """Fixed-width UTC time with microseconds. Naive datetimes are taken as UTC (SQLite storage)."""
    if at.tzinfo is not None and at.utcoffset():
        at = at.astimezone(UTC)
    # isoformat with timespec always gives 26 characters before the offset for years 1000-9999.
    return at.isoformat(timespec="microseconds")[:26] + "Z"


def time_from_db(text: str) -> str:
    """Canonical time from the text the database holds: SQLite stores naive UTC as
    "YYYY-MM-DD HH:MM:SS[.ffffff]", PostgreSQL is asked for the canonical form directly.
    The known shapes are rewritten by slicing (fast, and one text gives one result); anything
    else is parsed for real, so an offset slipped into the column still changes the hash."""
    n = len(text)
    if n == 26 and text[10] == " " and text[19] == ".":
        return text[:10] + "T" + text[11:] + "Z"
    if n == 27 and text[10] == "T" and text[26] == "Z":
        return text
    if n == 19 and text[10] == " ":
        return text[:10] + "T" + text[11:] + ".000000Z"
    return format_time(datetime.fromisoformat(text))


class DetailsCanon:
    """Canonical JSON of `details`, memoised on the text the database returns: most events share
    a handful of shapes (`{}`, `{"fields": [...]}`), and parsing each one would cost ~2 µs."""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {"{}": "{}"}

    def __call__(self, raw: str) -> str:
        try:
            return self._cache[raw]
        except KeyError:
            pass
        canon = canonical_json(json.loads(raw))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[raw] = canon
        return canon


def event_payload(seq: int, row: tuple[Any, ...], details: DetailsCanon) -> bytes:
    """Canonical bytes of one event from its database row (the columns of hygie.audit.chain)."""
    at, actor, role, action, outcome, ttype, tid, patient, ip, rid, channel, reason, det = row
    return canonical_event(
        seq=seq, at=time_from_db(at), actor=actor, actor_role=role, action=action, outcome=outcome,
        target_type=ttype, target_id=tid, patient=patient, ip=ip, request_id=rid, channel=channel,
        reason=reason, details=details(det),
    )


def canonical_json(value: Any) -> str:
    """Canonical JSON of any structure (used for `details` and for checkpoints)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _int_or_null(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def canonical_event(
    *,
    seq: int,
    at: str,
    actor: int | None,
    actor_role: str,
    action: str,
    outcome: str,
    target_type: str,
    target_id: str,
    patient: int | None,
    ip: str | None,
    request_id: str,
    channel: str,
    reason: str,
    details: str,
) -> bytes:
    """The bytes that are hashed for one event. `at` is canonical time text (`format_time`,
    `time_from_db`), `details` canonical JSON text (`canonical_json`)."""
    return (
        _TEMPLATE
        % (
            _quote(action),
            _int_or_null(actor),
            _quote(actor_role),
            _quote(at),
            _quote(channel),
            details,
            "null" if ip is None else _quote(ip),
            _quote(outcome),
            _int_or_null(patient),
            _quote(reason),
            _quote(request_id),
            str(int(seq)),
            _quote(target_id),
            _quote(target_type),
        )
    ).encode()


class PayloadParts(NamedTuple):
    """The canonical form of one event cut around its time and its position, which only a
    writer holding the chain head knows (`canonical_parts`, `payload_of`)."""

    before_at: str
    before_seq: str
    after_seq: str


def canonical_parts(
    *,
    actor: int | None,
    actor_role: str,
    action: str,
    outcome: str,
    target_type: str,
    target_id: str,
    patient: int | None,
    ip: str | None,
    request_id: str,
    channel: str,
    reason: str,
    details: str,
) -> PayloadParts:
    """`canonical_event` without `at` and `seq`: prepared before the write lock is taken, so
    that only the time and the position are formatted under it. Same template, same escaping
    (a test checks that both give the same bytes)."""
    text = _TEMPLATE % (
        _quote(action), _int_or_null(actor), _quote(actor_role), "\0", _quote(channel), details,
        "null" if ip is None else _quote(ip), _quote(outcome), _int_or_null(patient), _quote(reason),
        _quote(request_id), "\0", _quote(target_id), _quote(target_type),
    )
    # The two markers are the only NUL characters: _quote escapes every NUL of a value as \u0000,
    # and `details` is canonical JSON, escaped the same way.
    before_at, before_seq, after_seq = text.split("\0")
    return PayloadParts(before_at, before_seq, after_seq)


def payload_of(parts: PayloadParts, seq: int, at: str) -> bytes:
    """The bytes `canonical_event` gives for the event of `parts` at time `at` (canonical time
    text) and position `seq`."""
    return (parts.before_at + _quote(at) + parts.before_seq + str(int(seq)) + parts.after_seq).encode()


def leaf_hash(payload: bytes) -> bytes:
    return _sha256(LEAF_PREFIX + payload).digest()


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    return _sha256(NODE_PREFIX + previous + leaf).digest()


def next_hash(previous: bytes, payload: bytes) -> bytes:
    """chain(n) from chain(n-1) and the canonical bytes of event n."""
    return _sha256(NODE_PREFIX + previous + _sha256(LEAF_PREFIX + payload).digest()).digest()


def chain_of(payloads: Iterable[bytes], previous: bytes = GENESIS) -> list[bytes]:
    """Every chain value of a sequence of payloads (tests and bulk generation)."""
    out = []
    for payload in payloads:
        previous = next_hash(previous, payload)
        out.append(previous)
    return out


# --- Verification --------------------------------------------------------------------------


class Fault(StrEnum):
    MISSING = "missing"  # a sequence number is absent: event deleted
    DUPLICATE = "duplicate"  # a sequence number appears twice or goes backwards
    HASH = "hash"  # recomputed chain value differs from the stored one: edited, inserted, moved
    CHECKPOINT = "checkpoint"  # stored chain agrees with itself but not with a signed checkpoint


@dataclass(frozen=True)
class WalkResult:
    count: int
    last_seq: int
    last_hash: bytes
    fault: Fault | None = None
    position: int | None = None
    # For CHECKPOINT faults: the last position known good (the previous checkpoint or anchor).
    verified_until: int | None = None


def walk(
    rows: Iterable[tuple[Any, ...]],
    *,
    start_seq: int = 0,
    start_hash: bytes = GENESIS,
    checkpoints: Mapping[int, bytes] | None = None,
) -> WalkResult:
    """Recompute the chain over database `rows` = (seq, stored chain hash in hex, *content
    columns as for `event_payload`), sorted by seq, starting after `start_seq` whose chain
    value is `start_hash`.

    Stops at the first fault. A stored hash that matches is not trusted on its own (anyone who
    can write the database can recompute a chain): the signed `checkpoints` {seq: chain value}
    are what make a rewrite detectable.

    The body of `event_payload` is inlined: at a million rows every function call shows.
    """
    checkpoints = checkpoints or {}
    previous = start_hash
    expected = start_seq + 1
    good_until = start_seq  # last position confirmed by a checkpoint or the anchor
    count = 0
    sha = _sha256
    cp_get = checkpoints.get
    q = _quote
    template = _TEMPLATE
    details = DetailsCanon()
    for seq, stored, at, actor, role, action, outcome, ttype, tid, patient, ip, rid, channel, reason, det in rows:
        if seq != expected:
            if seq > expected:
                return WalkResult(count, expected - 1, previous, Fault.MISSING, expected)
            return WalkResult(count, expected - 1, previous, Fault.DUPLICATE, seq)
        payload = (
            template
            % (
                q(action),
                "null" if actor is None else str(int(actor)),
                q(role),
                q(time_from_db(at)),
                q(channel),
                details(det),
                "null" if ip is None else q(ip),
                q(outcome),
                "null" if patient is None else str(int(patient)),
                q(reason),
                q(rid),
                str(seq),
                q(tid),
                q(ttype),
            )
        ).encode()
        current = sha(NODE_PREFIX + previous + sha(LEAF_PREFIX + payload).digest()).digest()
        if current.hex() != stored:
            return WalkResult(count, expected - 1, previous, Fault.HASH, seq)
        signed = cp_get(seq)
        if signed is not None:
            if signed != current:
                return WalkResult(count, expected - 1, previous, Fault.CHECKPOINT, seq, good_until)
            good_until = seq
        previous = current
        expected += 1
        count += 1
    return WalkResult(count, expected - 1, previous)
