"""The pure GDPR rules, against tables written from the texts (hygie/lib/gdpr.py docstring)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from hygie.lib import gdpr

TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("practice_type", "required"),
    [
        # Seed 004: « Dès lors que vous exercez à titre individuel, vous n'êtes pas soumis à
        # l'obligation de désigner un DPO. Uniquement les CPTS et les MSP doivent désigner un DPO ».
        (gdpr.INDIVIDUAL, False),
        (gdpr.GROUP, False),
        (gdpr.HEALTH_CENTRE, False),
        (gdpr.MSP, True),
        (gdpr.CPTS, True),
        ("", False),
    ],
)
def test_it_requires_a_dpo_for_an_msp_or_a_cpts_only(practice_type, required):
    assert gdpr.dpo_required(practice_type) is required


@pytest.mark.parametrize(
    ("practice_type", "patients", "shared", "recommended"),
    [
        # Référentiel CNIL 2020 (secondary): group practice, shared information system, > 10,000 a year.
        (gdpr.GROUP, 10_001, True, True),
        (gdpr.MSP, 25_000, True, True),
        (gdpr.GROUP, 10_000, True, False),  # "above" 10,000: 10,000 itself is not above
        (gdpr.GROUP, 50_000, False, False),  # no shared information system
        (gdpr.INDIVIDUAL, 50_000, True, False),  # not a group practice
        (gdpr.GROUP, None, True, False),  # not answered
    ],
)
def test_it_screens_for_an_aipd_as_the_cnil_referentiel_says(practice_type, patients, shared, recommended):
    result = gdpr.aipd_screening(practice_type, patients, shared)
    assert result.recommended is recommended
    assert result.reason


def test_it_says_when_the_aipd_criteria_are_missing():
    assert "non renseignés" in gdpr.aipd_screening(gdpr.GROUP, None, True).reason


def test_it_refuses_a_negative_number_of_patients():
    with pytest.raises(ValueError):
        gdpr.aipd_screening(gdpr.GROUP, -1, True)


@pytest.mark.parametrize(
    ("expires", "soon"),
    [(date(2026, 7, 31), True), (date(2026, 8, 1), False), (date(2026, 5, 1), True), (None, False)],
)
def test_it_warns_sixty_days_before_an_hds_certificate_expires(expires, soon):
    # 1 June + 60 days = 31 July.
    assert gdpr.hds_expires_soon(expires, TODAY) is soon


def _facts(**kw):
    base = dict(name="Hébergeur", health_data=True, hds_number="HDS-1", hds_expires_on=date(2027, 1, 1),
                has_contract=True)
    base.update(kw)
    return gdpr.ProcessorFacts(**base)


def test_a_complete_processor_has_no_warning():
    assert gdpr.processor_warnings(_facts(), TODAY) == []


def test_it_warns_of_health_data_without_hds_and_of_a_missing_contract():
    warnings = gdpr.processor_warnings(_facts(hds_number="", has_contract=False), TODAY)
    assert any("sans certificat HDS" in w for w in warnings)
    assert any("Aucun contrat" in w for w in warnings)


def test_it_does_not_ask_hds_of_a_processor_without_health_data():
    assert gdpr.processor_warnings(_facts(health_data=False, hds_number=""), TODAY) == []


def test_it_warns_of_an_expired_and_of_an_expiring_certificate():
    assert "a expiré" in gdpr.processor_warnings(_facts(hds_expires_on=date(2026, 5, 31)), TODAY)[0]
    assert "expire le 15/07/2026" in gdpr.processor_warnings(_facts(hds_expires_on=date(2026, 7, 15)), TODAY)[0]


def test_the_fingerprint_ignores_key_order_and_sees_any_change():
    assert gdpr.fingerprint({"a": 1, "b": [1, 2]}) == gdpr.fingerprint({"b": [1, 2], "a": 1})
    assert gdpr.fingerprint({"a": 1}) != gdpr.fingerprint({"a": 2})


def test_the_csv_has_one_row_per_activity_with_semicolons_and_no_formula():
    activities = [
        {"name": "=HYPERLINK(\"http://x\")", "purposes": ["Soins", "Suivi"], "security_measures": {
            "backups": ["Disque ; USB"]}},
        {"name": "Rendez-vous", "purposes": ["Agenda"], "security_measures": {}},
    ]
    data = gdpr.register_csv(activities, [("Responsable", "Cabinet")])
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Responsable", "Cabinet"]
    header = rows[2]
    assert header[0] == "Activité" and "Sécurité : Sauvegarde des données" in header
    assert len(rows) == 5
    assert rows[3][0].startswith("'=")  # CSV injection defused
    assert rows[3][header.index("Finalités")] == "Soins | Suivi"
    assert rows[3][header.index("Sécurité : Sauvegarde des données")] == "Disque ; USB"
    assert all(len(row) == len(header) for row in rows[2:])


def test_the_seven_cnil_headings_are_there_in_order():
    assert gdpr.MEASURE_KEYS == ("access_control", "traceability", "software_protection", "backups", "encryption",
                                 "processors", "other")
