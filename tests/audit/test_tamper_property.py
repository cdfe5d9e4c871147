"""Property: whatever single mutation is applied to a journal of random events, `verify`
reports it, at the first position the mutation touched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hygie.audit import chain, checkpoint
from hygie.audit.events import Ev
from hygie.audit.models import ChainHead, Checkpoint, Event
from hygie.audit.verify import verify
from tests.audit import helpers

pytestmark = pytest.mark.django_db

# PostgreSQL text cannot hold NUL; everything else is fair game.
texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
events = st.fixed_dictionaries(
    {
        "action": st.sampled_from([str(e) for e in Ev]),
        "outcome": st.sampled_from(["success", "failure", "denied"]),
        "actor_role": st.sampled_from(["", "titulaire", "secretaire"]),
        "target_type": st.sampled_from(["", "patients.patient", "patients.document"]),
        "target_id": st.text("0123456789abcdef", max_size=12),
        "patient_id": st.none() | st.integers(0, 2**62),
        "ip": st.none() | st.ip_addresses(v=4).map(str),
        "request_id": st.text("0123456789abcdef", max_size=32),
        "channel": st.sampled_from(["web", "cli"]),
        "reason": texts,
        "details": st.dictionaries(texts, json_values, max_size=4),
        "micros": st.integers(0, 10**6),
    }
)
MUTATIONS = ["edit", "delete", "insert", "swap", "truncate", "forge_checkpoint", "rehash"]


def _build(draw_events: list[dict], checkpoint_after: set[int]) -> list[int]:
    base = timezone.now() - timedelta(days=1)
    for n, fields in enumerate(draw_events, 1):
        fields = dict(fields)
        at = base + timedelta(seconds=n, microseconds=fields.pop("micros"))
        Event.objects.create(at=at, **fields)
        if n in checkpoint_after:
            chain.seal()
            checkpoint.make_checkpoint()
    chain.seal()
    return sorted(Checkpoint.objects.values_list("seq", flat=True))


def _reset(checkpoint_file) -> None:
    Event.objects.all().delete()
    Checkpoint.objects.all().delete()
    ChainHead.objects.all().delete()
    checkpoint_file.write_text("")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), journal=st.lists(events, min_size=2, max_size=25), kind=st.sampled_from(MUTATIONS))
def test_it_catches_every_random_mutation(checkpoint_file, data, journal, kind):
    _reset(checkpoint_file)
    n = len(journal)
    cps = _build(journal, data.draw(st.sets(st.integers(1, n), max_size=4), label="checkpoints"))
    assert verify().ok
    position = lambda: data.draw(st.integers(1, n), label="position")  # noqa: E731

    if kind == "edit":
        k = position()
        field = data.draw(st.sampled_from(["reason", "patient_id", "details", "action", "at"]), label="field")
        old = Event.objects.values_list(field, flat=True).get(seq=k)
        change = {
            "reason": lambda: old + "x",
            "patient_id": lambda: (old or 0) + 1,
            "details": lambda: {**old, "falsifié": True},
            "action": lambda: "x" + old,
            "at": lambda: old + timedelta(microseconds=1),
        }[field]
        helpers.edit(k, **{field: change()})
        expected = k
    elif kind == "delete":
        expected = position()
        helpers.delete(expected)
    elif kind == "insert":
        expected = position()
        helpers.insert_at(expected)
    elif kind == "swap":
        a, b = sorted(data.draw(st.lists(st.integers(1, n), min_size=2, max_size=2, unique=True), label="pair"))
        ra, rb = (Event.objects.filter(seq=s).values().get() for s in (a, b))
        assume({k: v for k, v in ra.items() if k not in {"id", "seq", "chain_hash"}}
               != {k: v for k, v in rb.items() if k not in {"id", "seq", "chain_hash"}})
        helpers.swap(a, b)
        expected = a
    elif kind == "truncate":
        assume(cps)
        cut = data.draw(st.integers(0, cps[-1] - 1), label="cut")
        helpers.truncate_after(cut)
        expected = cut + 1
    elif kind == "forge_checkpoint":
        assume(cps)
        seq = data.draw(st.sampled_from(cps), label="checkpoint")
        cp = Checkpoint.objects.get(seq=seq)
        cp.chain_hash = ("0" if cp.chain_hash[0] != "0" else "1") + cp.chain_hash[1:]
        cp.save()
        expected = seq
    else:  # rehash: an edit hidden by recomputing every hash; only a later checkpoint sees it
        assume(cps)
        k = data.draw(st.integers(1, cps[-1]), label="position")
        helpers.edit(k, reason="réécrit" + "x" * k)
        helpers.rehash_from(k)
        expected = next(c for c in cps if c >= k)

    report = verify()
    assert not report.ok, (kind, report.summary())
    assert report.position == expected, (kind, report.summary())
