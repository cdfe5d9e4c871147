"""Every path to a titulaire's medical data an administrator could assemble goes through an
approval: credential resets, role and reactivation, care teams, the command line; the referent's
fallback after the delay, with its alert; expiry; the journal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from hygie import cli
from hygie.access import records
from hygie.access.policy import Role
from hygie.accounts import actions as accounts
from hygie.accounts.models import User
from hygie.approvals import actions
from hygie.approvals.models import GrantRequest, Kind, Status
from hygie.audit import alerts
from hygie.audit.events import Ev
from hygie.audit.models import Alert, AlertKind, Event
from hygie.patients import actions as patient_actions
from tests.approvals.helpers import decide, past_the_delay, signed_in
from tests.factories import PASSWORD, make_replacement, make_user

NEW_PASSWORD = "Provisoire!Cabinet2031"  # noqa: S105


# --- Credentials of a titulaire --------------------------------------------------------------


def test_a_titulaires_password_set_by_the_administrator_waits_for_the_referent(personas):
    req = accounts.set_password_by_admin(actor=personas.adam, user=personas.alice, password=NEW_PASSWORD)
    assert req is not None and req.kind == Kind.PASSWORD and req.self_concerned
    personas.alice.refresh_from_db()
    assert personas.alice.check_password(PASSWORD) and not personas.alice.must_change_password
    assert NEW_PASSWORD not in str(req.payload)  # only its hash is kept

    # Neither the titulaire (her own credentials), nor the requester, nor the referent before the delay.
    assert "propre compte" in actions.approval_refusal(personas.alice, req)
    assert "propre demande" in actions.approval_refusal(personas.adam, req)
    assert "à partir du" in actions.approval_refusal(personas.regine, req)
    with pytest.raises(actions.ActionError):
        actions.approve(actor=personas.regine, req=req)
    assert GrantRequest.objects.get(pk=req.pk).status == Status.PENDING

    past_the_delay(req)
    actions.approve(actor=personas.regine, req=req)
    req.refresh_from_db()
    assert (req.status, req.decided_as, req.payload) == (Status.APPLIED, "referent", {})
    personas.alice.refresh_from_db()
    assert personas.alice.check_password(NEW_PASSWORD) and personas.alice.must_change_password
    event = Event.objects.get(action=Ev.PASSWORD_SET_BY_ADMIN)
    assert event.actor == personas.adam and event.details == {"request": str(req.public_id)}


def test_the_titulaire_refuses_a_reset_of_her_own_second_factor(personas):
    req = accounts.reset_second_factor(actor=personas.adam, user=personas.alice)
    assert req is not None and req.kind == Kind.MFA
    assert Authenticator.objects.filter(user=personas.alice).exists()
    alice = signed_in(personas.alice)
    page = alice.get(reverse("grant_detail", args=[req.public_id])).content.decode()
    assert "Refuser" in page and ">Approuver<" not in page
    assert decide(alice, req, "refuse").status_code == 302
    req.refresh_from_db()
    assert req.status == Status.REFUSED
    past_the_delay(req)
    with pytest.raises(actions.ActionError):
        actions.approve(actor=personas.regine, req=req)
    assert Authenticator.objects.filter(user=personas.alice).exists()
    assert not Event.objects.filter(action=Ev.MFA_RESET).exists()


def test_demoting_a_titulaire_does_not_free_her_credentials(personas):
    """Demote, reset, promote back: the reset still needs approval, and so does the promotion."""
    accounts.change_role(actor=personas.adam, user=personas.alice, role=Role.SECRETAIRE)
    assert accounts.set_password_by_admin(actor=personas.adam, user=personas.alice, password=NEW_PASSWORD)
    assert accounts.reset_second_factor(actor=personas.adam, user=personas.alice)
    req = accounts.change_role(actor=personas.adam, user=personas.alice, role=Role.TITULAIRE)
    assert req is not None and req.kind == Kind.ROLE
    personas.alice.refresh_from_db()
    assert personas.alice.role == Role.SECRETAIRE and personas.alice.check_password(PASSWORD)
    assert Authenticator.objects.filter(user=personas.alice).exists()


def test_a_titulaire_account_comes_back_only_once_approved(personas):
    accounts.deactivate(actor=personas.adam, user=personas.bob)
    req = accounts.reactivate(actor=personas.adam, user=personas.bob)
    assert req is not None and req.kind == Kind.REACTIVATION
    personas.bob.refresh_from_db()
    assert not personas.bob.is_active
    past_the_delay(req)
    actions.approve(actor=personas.regine, req=req)
    personas.bob.refresh_from_db()
    assert personas.bob.is_active


def test_accounts_without_medical_reach_are_managed_at_once(personas):
    assert accounts.set_password_by_admin(actor=personas.adam, user=personas.sophie, password=NEW_PASSWORD) is None
    assert accounts.reset_second_factor(actor=personas.adam, user=personas.regine) is None
    newcomer = make_user("tina", Role.TITULAIRE)  # a titulaire account: always asked
    assert accounts.reset_second_factor(actor=personas.adam, user=newcomer) is not None
    assert not GrantRequest.objects.filter(account__in=[personas.sophie, personas.regine]).exists()


def test_without_a_referent_a_self_concerned_request_is_refused_clearly(personas):
    User.objects.filter(pk=personas.regine.pk).update(is_active=False)
    with pytest.raises(actions.ActionError, match="référent"):
        accounts.reset_second_factor(actor=personas.adam, user=personas.alice)
    assert not GrantRequest.objects.exists()


# --- Credentials of a locum -----------------------------------------------------------------


def test_a_locums_credentials_need_every_replaced_titulaire(personas):
    make_replacement(personas.remi, personas.bob)
    req = accounts.set_password_by_admin(actor=personas.adam, user=personas.remi, password=NEW_PASSWORD)
    batch = list(GrantRequest.objects.filter(batch=req.batch).order_by("titulaire_id"))
    assert {r.titulaire for r in batch} == {personas.alice, personas.bob}
    mine = next(r for r in batch if r.titulaire == personas.alice)
    actions.approve(actor=personas.alice, req=mine)
    personas.remi.refresh_from_db()
    assert personas.remi.check_password(PASSWORD), "bob has not approved yet"
    actions.approve(actor=personas.bob, req=next(r for r in batch if r.titulaire == personas.bob))
    personas.remi.refresh_from_db()
    assert personas.remi.check_password(NEW_PASSWORD)
    assert set(GrantRequest.objects.filter(batch=req.batch).values_list("status", flat=True)) == {Status.APPLIED}


def test_a_locum_who_changes_role_loses_the_replacement_for_good(personas):
    accounts.change_role(actor=personas.adam, user=personas.remi, role=Role.SECRETAIRE)
    accounts.change_role(actor=personas.adam, user=personas.remi, role=Role.REMPLACANT)
    personas.remi.refresh_from_db()
    assert records.practitioner_scope(personas.remi) == []
    assert not personas.remi.can_sign_in_at()
    assert Event.objects.filter(action=Ev.REPLACEMENT_ENDED, target_id=str(personas.remi.pk)).exists()
    # ...and its credentials are then free of approval: they open nothing.
    assert accounts.reset_second_factor(actor=personas.adam, user=personas.remi) is None


def test_a_deactivated_locum_comes_back_without_its_replacement(personas):
    accounts.deactivate(actor=personas.adam, user=personas.remi)
    assert accounts.reactivate(actor=personas.adam, user=personas.remi) is None
    personas.remi.refresh_from_db()
    assert personas.remi.is_active and not personas.remi.can_sign_in_at()


# --- The referent's fallback, the alert, the titulaire told ----------------------------------


@override_settings(GRANT_FALLBACK_HOURS=48)
def test_the_referent_approves_a_replacement_only_after_the_delay_and_the_titulaire_is_told(
    personas, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=personas.alice.pk).update(email="alice@example.org")
    personas.alice.refresh_from_db()
    locum = make_user("loic", Role.REMPLACANT)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        req = accounts.create_replacement(
            actor=personas.adam, remplacant=locum, titulaire=personas.alice,
            starts_at=now, ends_at=now + timedelta(days=5),
        )
    assert req.fallback_at - req.created_at == timedelta(hours=48)
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
    assert "attend votre approbation" in mail.outbox[0].body

    regine = signed_in(personas.regine)
    decide(regine, req, "approve")
    assert GrantRequest.objects.get(pk=req.pk).status == Status.PENDING
    assert not locum.replacements.exists()

    past_the_delay(req)
    with django_capture_on_commit_callbacks(execute=True):
        assert decide(regine, req, "approve").status_code == 302
    req.refresh_from_db()
    assert (req.status, req.decided_as) == (Status.APPLIED, "referent")
    assert locum.replacements.filter(titulaire=personas.alice).exists()
    assert "Accès approuvé en votre absence" in mail.outbox[-1].subject

    (alert,) = [a for a in alerts.scan() if a.kind == AlertKind.GRANT_FALLBACK]
    assert alert.severity == "critical" and alert.user == personas.alice
    assert alert.details["request"] == str(req.public_id)
    # At her next login, the titulaire reads what happened while she was away.
    page = signed_in(personas.alice).get("/").content.decode()
    assert "Approuvé à votre place par le référent" in page


def test_the_titulaire_approving_raises_no_alert(personas):
    locum = make_user("loic", Role.REMPLACANT)
    now = timezone.now()
    req = accounts.create_replacement(
        actor=personas.adam, remplacant=locum, titulaire=personas.alice, starts_at=now, ends_at=now + timedelta(days=1)
    )
    actions.approve(actor=personas.alice, req=req)
    alerts.scan()
    assert not Alert.objects.filter(kind=AlertKind.GRANT_FALLBACK).exists()


def test_an_undecided_request_expires(personas):
    req = accounts.reset_second_factor(actor=personas.adam, user=personas.alice)
    assert actions.expire_due() == 0
    GrantRequest.objects.filter(pk=req.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert actions.expire_due() == 1
    req.refresh_from_db()
    assert req.status == Status.EXPIRED
    assert Event.objects.filter(action=Ev.GRANT_EXPIRED, target_id=str(req.pk)).exists()
    past_the_delay(req)
    with pytest.raises(actions.ActionError):
        actions.approve(actor=personas.regine, req=req)


def test_one_open_request_of_a_kind_per_account(personas):
    accounts.reset_second_factor(actor=personas.adam, user=personas.alice)
    with pytest.raises(actions.ActionError, match="déjà"):
        accounts.reset_second_factor(actor=personas.adam, user=personas.alice)


# --- Care teams and the command line ---------------------------------------------------------


def test_only_a_titulaire_of_the_care_team_adds_a_colleague(personas):
    patient = personas.alice_patient
    for outsider in (personas.bob, personas.adam, personas.remi, None):
        with pytest.raises(patient_actions.ActionError):
            patient_actions.add_to_care_team(actor=outsider, patient=patient, practitioner=personas.bob)
    assert not patient.care_team.filter(practitioner=personas.bob).exists()
    patient_actions.add_to_care_team(actor=personas.alice, patient=patient, practitioner=personas.bob)
    assert patient.care_team.filter(practitioner=personas.bob).exists()


@pytest.mark.parametrize("word", ["changepassword", "createsuperuser"])
def test_the_command_line_refuses_djangos_own_account_commands(word, capsys):
    assert cli.main([word, "alice"]) == 2
    assert "n'est pas disponible" in capsys.readouterr().err


# --- Journal labels --------------------------------------------------------------------------


def test_every_step_is_journaled_without_patient_data(personas):
    req = accounts.reset_second_factor(actor=personas.adam, user=personas.remi)
    actions.refuse(actor=personas.alice, req=req)
    for event in Event.objects.filter(action__startswith="grant:"):
        assert set(event.details) <= {"request", "kind", "account", "titulaire", "as"}
        assert event.patient_id is None

