from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from hygie.lib import hashchain
from hygie.lib.hashchain import Fault

texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
times = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC))


def _event(**over):
    fields = dict(seq=1, at="2026-01-02T03:04:05.000000Z", actor=None, actor_role="", action="a",
                  outcome="success", target_type="", target_id="", patient=None, ip=None, request_id="",
                  channel="web", reason="", details="{}")
    fields.update(over)
    return fields


@given(seq=st.integers(0, 2**62), at=times, actor=st.none() | st.integers(0, 2**62), role=texts, action=texts,
       reason=texts, ip=st.none() | texts, patient=st.none() | st.integers(-(2**62), 2**62),
       details=st.dictionaries(texts, st.none() | st.integers() | texts | st.lists(texts, max_size=3), max_size=4))
def test_it_writes_exactly_what_sorted_key_json_would(seq, at, actor, role, action, reason, ip, patient, details):
    fields = _event(seq=seq, at=hashchain.format_time(at), actor=actor, actor_role=role, action=action,
                    reason=reason, ip=ip, patient=patient, details=hashchain.canonical_json(details))
    expected = {**fields, "details": details}

    payload = hashchain.canonical_event(**fields)

    assert payload == json.dumps(expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert json.loads(payload) == expected


def test_it_formats_times_in_utc_with_microseconds():
    paris = timezone(timedelta(hours=2))
    assert hashchain.format_time(datetime(2026, 6, 1, 12, 0, tzinfo=paris)) == "2026-06-01T10:00:00.000000Z"
    assert hashchain.format_time(datetime(2026, 6, 1, 12, 0, 0, 5, tzinfo=UTC)) == "2026-06-01T12:00:00.000005Z"
    # Naive times are what SQLite returns: already UTC.
    assert hashchain.format_time(datetime(2026, 6, 1, 12, 0)) == "2026-06-01T12:00:00.000000Z"


def test_it_separates_leaves_from_nodes_like_rfc6962():
    import hashlib

    payload = b"x"
    leaf = hashlib.sha256(b"\x00" + payload).digest()
    assert hashchain.leaf_hash(payload) == leaf
    assert hashchain.next_hash(hashchain.GENESIS, payload) == hashlib.sha256(b"\x01" + bytes(32) + leaf).digest()


def _content(i: int, reason: str | None = None) -> tuple:
    """A database row's content columns, as SQLite returns them."""
    return (f"2026-01-02 03:04:{i % 60:02d}.{i:06d}", None, "titulaire", "patient:record:viewed", "success",
            "patients.patient", str(i), i, "127.0.0.1", "r" * 32, "web", reason or str(i), '{"fields": ["phone"]}')


def _chained(contents: list[tuple]) -> list[tuple]:
    canon = hashchain.DetailsCanon()
    payloads = [hashchain.event_payload(i, c, canon) for i, c in enumerate(contents, 1)]
    return [(i, h.hex(), *c) for i, (h, c) in enumerate(zip(hashchain.chain_of(payloads), contents, strict=True), 1)]


def _rows(n: int):
    rows = _chained([_content(i) for i in range(1, n + 1)])
    return rows, [bytes.fromhex(r[1]) for r in rows]


def test_it_walks_an_intact_chain():
    rows, hashes = _rows(10)

    result = hashchain.walk(rows, checkpoints={5: hashes[4], 10: hashes[9]})

    assert (result.fault, result.count, result.last_seq, result.last_hash) == (None, 10, 10, hashes[9])


def test_it_walks_from_an_anchor():
    rows, hashes = _rows(10)

    result = hashchain.walk(rows[4:], start_seq=4, start_hash=hashes[3])

    assert result.fault is None and result.count == 6


def test_it_finds_a_gap():
    rows, _ = _rows(10)
    del rows[6]

    assert (hashchain.walk(rows).fault, hashchain.walk(rows).position) == (Fault.MISSING, 7)


def test_it_finds_a_duplicate():
    rows, _ = _rows(10)
    rows.insert(3, rows[2])

    assert (hashchain.walk(rows).fault, hashchain.walk(rows).position) == (Fault.DUPLICATE, 3)


def test_it_finds_an_edited_row():
    rows, _ = _rows(10)
    rows[5] = (*rows[5][:13], "autre motif", rows[5][14])

    result = hashchain.walk(rows)

    assert (result.fault, result.position, result.last_seq) == (Fault.HASH, 6, 5)


def test_it_finds_a_recomputed_chain_with_a_checkpoint():
    rows, hashes = _rows(10)
    rehashed = _chained([_content(i, "réécrit" if i == 3 else None) for i in range(1, 11)])

    assert hashchain.walk(rehashed).fault is None  # the chain alone cannot tell
    result = hashchain.walk(rehashed, checkpoints={2: hashes[1], 8: hashes[7]})

    assert (result.fault, result.position, result.verified_until) == (Fault.CHECKPOINT, 8, 2)


def test_it_reads_database_times_into_one_canonical_form():
    assert hashchain.time_from_db("2026-01-02 03:04:05.000123") == "2026-01-02T03:04:05.000123Z"
    assert hashchain.time_from_db("2026-01-02 03:04:05") == "2026-01-02T03:04:05.000000Z"
    assert hashchain.time_from_db("2026-01-02T03:04:05.000123Z") == "2026-01-02T03:04:05.000123Z"
    # Any other shape is parsed for real: an offset slipped into the column changes the time.
    assert hashchain.time_from_db("2026-01-02 03:04:05.000123+02:00") == "2026-01-02T01:04:05.000123Z"


def test_it_canonicalises_details_whatever_their_spacing_or_key_order():
    canon = hashchain.DetailsCanon()
    assert canon('{"b": 1, "a": [1, 2]}') == canon('{"a":[1,2],"b":1}') == '{"a":[1,2],"b":1}'


def test_it_walks_the_same_bytes_as_it_seals():
    contents = [_content(i) for i in range(1, 4)]
    payloads = [hashchain.event_payload(i, c, hashchain.DetailsCanon()) for i, c in enumerate(contents, 1)]
    hashes = hashchain.chain_of(payloads)

    rows = [(i, h.hex(), *c) for i, (h, c) in enumerate(zip(hashes, contents, strict=True), 1)]

    assert hashchain.walk(rows).last_hash == hashes[-1]


@given(seq=st.integers(0, 2**62), at=times, actor=st.none() | st.integers(0, 2**62), role=texts, action=texts,
       reason=texts, ip=st.none() | texts, patient=st.none() | st.integers(-(2**62), 2**62),
       details=st.dictionaries(texts, st.none() | st.integers() | texts | st.lists(texts, max_size=3), max_size=4))
def test_the_parts_prepared_before_the_lock_give_the_same_bytes(seq, at, actor, role, action, reason, ip, patient,
                                                                 details):
    # Values may hold NUL and "%" characters: the parts' markers and the template must not care.
    fields = _event(seq=seq, at=hashchain.format_time(at), actor=actor, actor_role=role, action=action,
                    reason=reason + "\0%s", ip=ip, patient=patient, details=hashchain.canonical_json(details))
    parts = hashchain.canonical_parts(**{k: v for k, v in fields.items() if k not in ("seq", "at")})

    assert hashchain.payload_of(parts, seq, fields["at"]) == hashchain.canonical_event(**fields)
