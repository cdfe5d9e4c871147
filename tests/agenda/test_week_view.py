"""The week grid: free slots to book, appointments linked to the record, the secretary's day
with her practitioners side by side."""

import re
from datetime import datetime, time, timedelta

from django.utils import timezone
from django.utils.html import escape

from hygie.lib.agendagrid import week_of
from tests.factories import make_appointment, make_patient

URL = "/agenda/"


def _wednesday():
    return week_of(timezone.localdate() + timedelta(days=14))[2]


def _at(day, hour, minute=0):
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def test_it_offers_free_slots_linking_to_the_booking_form(personas, login):
    day = _wednesday()
    make_appointment(personas.alice_patient, personas.alice, start=_at(day, 10), duration_minutes=40)
    body = login(personas.alice).get(URL, {"jour": day.isoformat()}).content.decode()
    alice = personas.alice.public_id
    assert f"/agenda/nouveau/?praticien={alice}&amp;jour={day.isoformat()}&amp;heure=09%3A40" in body
    # The booked slot and the one it runs into are not offered.
    assert f"jour={day.isoformat()}&amp;heure=10%3A00" not in body
    assert f"jour={day.isoformat()}&amp;heure=10%3A20" not in body
    assert f"jour={day.isoformat()}&amp;heure=10%3A40" in body
    # Sunday is closed (HYGIE_OPENING_DAYS=1-6): nothing to book.
    assert f"jour={(day + timedelta(days=4)).isoformat()}&amp;heure" not in body


def test_it_links_the_name_to_the_record_and_shows_the_code(personas, login):
    day = _wednesday()
    make_appointment(personas.alice_patient, personas.alice, start=_at(day, 10))
    body = login(personas.sophie).get(URL, {"jour": day.isoformat(), "vue": "semaine"}).content.decode()
    assert f'<a href="/patients/{personas.alice_patient.public_id}/">MOREAU Jeanne</a>' in body
    assert personas.alice_patient.code in body


def test_it_does_not_offer_past_slots(personas, login):
    monday_past = week_of(timezone.localdate() - timedelta(days=14))[0]
    body = login(personas.alice).get(URL, {"jour": monday_past.isoformat()}).content.decode()
    assert "/agenda/nouveau/?praticien=" not in body


def test_it_shows_the_secretarys_practitioners_side_by_side(personas, login):
    personas.sophie.assists.add(personas.bob)
    carl = make_patient(personas.bob, birth_name="Petit", first_names="Carl")
    day = _wednesday()
    make_appointment(personas.alice_patient, personas.alice, start=_at(day, 9))
    make_appointment(carl, personas.bob, start=_at(day, 9))
    body = login(personas.sophie).get(URL, {"jour": day.isoformat()}).content.decode()
    head = re.search(r"<thead>(.*?)</thead>", body, re.S).group(1)
    assert personas.alice.display_name in head and personas.bob.display_name in head
    assert "MOREAU Jeanne" in body and "PETIT Carl" in body
    # Both are free at 09:20, each in their own column.
    assert f"praticien={personas.alice.public_id}&amp;jour={day.isoformat()}&amp;heure=09%3A20" in body
    assert f"praticien={personas.bob.public_id}&amp;jour={day.isoformat()}&amp;heure=09%3A20" in body


def test_it_shows_one_practitioners_week_on_request(personas, login):
    personas.sophie.assists.add(personas.bob)
    day = _wednesday()
    make_appointment(personas.alice_patient, personas.alice, start=_at(day, 9))
    r = login(personas.sophie).get(URL, {"jour": day.isoformat(), "praticien": str(personas.bob.public_id)})
    body = r.content.decode()
    assert "MOREAU" not in body
    head = re.search(r"<thead>(.*?)</thead>", body, re.S).group(1)
    assert head.count('scope="col"') == 8  # the hour, then seven days


def test_it_prefills_the_booking_form_from_the_slot(personas, login):
    day = _wednesday()
    r = login(personas.alice).get(
        "/agenda/nouveau/", {"praticien": str(personas.alice.public_id), "jour": day.isoformat(), "heure": "09:40"}
    )
    body = r.content.decode()
    assert 'value="09:40"' in body
    assert f'value="{day.isoformat()}"' in body
    assert "cette date est passée" not in body


def test_the_cells_escape_what_they_show_and_label_every_state(personas, login):
    """The grid's cells are written in Python (hygie/agenda/templatetags/agenda_grid.py): names
    and reasons escaped, a running appointment marked « (suite) », closed slots labelled for
    screen readers, each free slot's booking link labelled with its day, time and practitioner."""
    day = _wednesday()
    odd = make_patient(personas.alice, birth_name="O'Brien <b>", first_names="Anne & Co")
    make_appointment(odd, personas.alice, start=_at(day, 10), duration_minutes=40, reason="<script>x</script>")
    body = login(personas.alice).get(URL, {"jour": day.isoformat(), "vue": "semaine"}).content.decode()
    assert "<script>x</script>" not in body and "&lt;script&gt;x&lt;/script&gt;" in body
    assert f'<a href="/patients/{odd.public_id}/">{escape(odd.display_name)}</a>' in body
    assert "<b>" not in escape(odd.display_name)
    assert '<span class="appt-time">10:00 · 40 min</span>' in body
    assert '<td class="slot busy continued"><span class="muted">(suite)</span></td>' in body
    assert '<td class="slot closed"><span class="offscreen">fermé</span></td>' in body
    assert re.search(r'<a class="book" href="[^"]+">libre<span class="offscreen"> — réserver le mercredi \d+ \w+ à '
                     r'09:40 avec [^<]+</span></a>', body)
    assert 'class="appt-edit"' in body and "le rendez-vous de 10:00" in body
