"""The record page's layout rules: no sex chosen for the user, erasing sits apart (issue 17)."""

import re

from hygie.patients.models import Patient

CREATE = "/patients/nouveau/"


def _data(**extra):
    data = {"birth_name": "Dupont", "usage_name": "", "first_names": "Marie", "birth_date": "03/04/1971",
            "sex": "F", "ins": "", "phone": "", "email": "", "address": ""}
    data.update(extra)
    return data


def test_the_new_patient_form_selects_no_sex(personas, login):
    body = login(personas.alice).get(CREATE).content.decode()
    select = re.search(r'<select name="sex".*?</select>', body, re.S).group(0)
    assert "selected" in re.search(r"<option[^>]*>[^<]*choisir", select).group(0)
    assert not re.search(r'<option value="[FMI]"[^>]*selected', select)


def test_a_patient_without_sex_is_refused_and_nothing_saved(personas, login):
    before = Patient.objects.count()
    r = login(personas.alice).post(CREATE, _data(sex=""))
    assert r.status_code == 200
    assert "Indiquez le sexe du patient." in r.content.decode()
    assert Patient.objects.count() == before


def test_the_edit_form_keeps_the_recorded_sex(personas, login):
    patient = personas.alice_patient
    body = login(personas.alice).get(f"/patients/{patient.public_id}/modifier/").content.decode()
    assert re.search(rf'<option value="{patient.sex}" selected>', body)


def test_erasing_sits_in_a_danger_zone_away_from_identity_edits(personas, login):
    body = login(personas.alice).get(f"/patients/{personas.alice_patient.public_id}/").content.decode()
    identity = re.search(r'<section class="card" id="identite".*?</section>', body, re.S).group(0)
    assert "Effacer le dossier" not in identity
    danger = re.search(r'<section class="card danger-zone".*?</section>', body, re.S).group(0)
    assert "/effacer/" in danger and "Zone de danger" in danger


def test_roles_that_cannot_erase_see_no_danger_zone(personas, login):
    body = login(personas.remi).get(f"/patients/{personas.alice_patient.public_id}/").content.decode()
    assert "Zone de danger" not in body and "/effacer/" not in body
