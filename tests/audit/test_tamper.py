"""Each kind of tampering is caught by `verify`, at the right position."""

from __future__ import annotations

import json

import pytest

from hygie.audit import checkpoint
from hygie.audit.models import ChainHead, Checkpoint, Event
from hygie.audit.verify import verify
from tests.audit import helpers

pytestmark = pytest.mark.django_db


@pytest.fixture
def journal_of_40():
    """40 events, checkpoints at 10, 20, 30 and 40."""
    return helpers.journal_with_checkpoints(40, every=10)


def _bad_at(position: int, *, containing: str = "") -> None:
    report = verify()
    assert not report.ok
    assert report.position == position, report.summary()
    assert report.summary().startswith(f"Journal altéré à la position {position} : ")
    assert containing in report.summary()


def test_it_is_intact_before_tampering(journal_of_40):
    report = verify()
    assert report.ok
    assert report.summary() == "Journal intègre : 40 événements, 4 points de contrôle."


@pytest.mark.parametrize(
    "change",
    [{"reason": "autre motif"}, {"action": "patient:record:listed"}, {"patient_id": 7}, {"details": {"i": 99}},
     {"ip": "10.0.0.1"}, {"outcome": "denied"}],
)
def test_it_catches_an_edited_field(journal_of_40, change):
    helpers.edit(17, **change)

    _bad_at(17, containing="modifié")


def test_it_catches_an_edited_time(journal_of_40):
    event = Event.objects.get(seq=5)
    helpers.edit(5, at=event.at.replace(microsecond=(event.at.microsecond + 1) % 1_000_000))

    _bad_at(5)


def test_it_catches_a_deleted_event(journal_of_40):
    helpers.delete(23)

    _bad_at(23, containing="disparu")


def test_it_catches_the_deleted_last_event(journal_of_40):
    helpers.delete(40)

    _bad_at(40, containing="disparu")


def test_it_catches_an_inserted_event(journal_of_40):
    helpers.insert_at(12)

    _bad_at(12)


def test_it_catches_an_inserted_event_with_a_recomputed_hash_at_the_next_position(journal_of_40):
    # The forged event itself chains correctly: the break shows on the event it displaced.
    helpers.insert_at(12, valid_hash=True)

    _bad_at(13)


def test_it_catches_an_event_appended_outside_the_chain(journal_of_40):
    Event.objects.create(at=Event.objects.get(seq=40).at, action="patient:record:viewed", seq=41, chain_hash="0" * 64)

    _bad_at(41, containing="hors de la chaîne")


def test_it_catches_two_swapped_events(journal_of_40):
    helpers.swap(8, 31)

    _bad_at(8)


def test_it_catches_reordered_positions(journal_of_40):
    a, b = Event.objects.get(seq=14), Event.objects.get(seq=15)
    Event.objects.filter(pk=a.pk).update(seq=None)
    Event.objects.filter(pk=b.pk).update(seq=14)
    Event.objects.filter(pk=a.pk).update(seq=15)

    _bad_at(14)


def test_it_catches_a_journal_cut_after_a_checkpoint(journal_of_40):
    helpers.truncate_after(35)

    _bad_at(36, containing="tronqué")


def test_it_catches_a_journal_cut_even_when_the_checkpoint_rows_are_deleted_too(journal_of_40):
    helpers.truncate_after(25)
    Checkpoint.objects.filter(seq__gt=25).delete()

    # The checkpoint file, outside the database, still says the journal went to 40.
    _bad_at(26, containing="tronqué")


def test_it_catches_a_journal_cut_without_rewinding_the_head(journal_of_40):
    helpers.truncate_after(38, fix_head=False)

    _bad_at(39, containing="disparu")


def test_it_catches_a_rewritten_chain_at_the_next_checkpoint(journal_of_40):
    # Whoever rewrites an event and recomputes every hash still cannot sign a new checkpoint.
    helpers.edit(13)
    helpers.rehash_from(13)

    _bad_at(20, containing="entre les positions 11 et 20")


def test_it_catches_a_forged_checkpoint_signature(journal_of_40):
    cp = Checkpoint.objects.get(seq=20)
    cp.signature = ("0" if cp.signature[0] != "0" else "1") + cp.signature[1:]
    cp.save()

    _bad_at(20, containing="signature")


def test_it_catches_a_checkpoint_moved_to_another_position(journal_of_40):
    # A valid signature over (20, h) does not vouch for (19, h).
    Checkpoint.objects.filter(seq=20).update(seq=19)

    _bad_at(19, containing="signature")


def test_it_catches_a_forged_line_in_the_checkpoint_file(journal_of_40, checkpoint_file):
    lines = checkpoint_file.read_text().splitlines()
    doc = json.loads(lines[1])
    doc["chain_hash"] = "ab" * 32
    checkpoint_file.write_text("\n".join([*lines, json.dumps(doc)]) + "\n")

    _bad_at(20, containing="signature")


def test_it_catches_a_garbled_checkpoint_file(journal_of_40, checkpoint_file):
    with checkpoint_file.open("a") as fh:
        fh.write("pas du json\n")

    _bad_at(1, containing="ligne 5")


def test_it_catches_a_rewritten_chain_head(journal_of_40):
    ChainHead.objects.filter(pk=1).update(chain_hash="ff" * 32)

    _bad_at(40, containing="tête")


def test_it_reports_the_first_of_several_faults(journal_of_40):
    helpers.edit(33)
    helpers.delete(9)

    _bad_at(9)


def test_it_needs_the_signing_key_to_vouch_for_checkpoints(journal_of_40, settings, tmp_path):
    settings.KEY_FILE = tmp_path / "elsewhere" / "keys.json"

    _bad_at(10, containing="invérifiables")


def test_it_signs_with_a_key_kept_next_to_the_key_file(journal_of_40, settings):
    key_path = checkpoint.conf.signing_key_file()
    assert key_path.parent == settings.KEY_FILE.parent
    assert key_path.stat().st_mode & 0o777 == 0o600
