"""Linking a Hygie account to a PSC identity: by the administrator, approved by the titulaire
when the account reaches their records, journaled; the refused professional shown for confirmation."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from hygie.approvals import actions as approvals
from hygie.approvals.models import GrantRequest, Kind
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.psc import actions
from hygie.psc.models import PscLink, PscUnknownAttempt
from tests.accounts.flows import reauthenticate, sign_in

pytestmark = pytest.mark.django_db


def _seen(national_id: str = "899700000033") -> PscUnknownAttempt:
    now = timezone.now()
    return PscUnknownAttempt.objects.create(
        national_id=national_id, given_name="Inès", family_name="INCONNUE", profession_code="60",
        first_seen=now, last_seen=now,
    )


def test_a_staff_account_is_linked_at_once_and_journaled(personas):
    grant = actions.link(actor=personas.adam, user=personas.regine, national_id=" 8997 0000 0044 ")
    assert grant is None
    link = PscLink.objects.get(user=personas.regine)
    assert link.national_id == "899700000044"
    event = Event.objects.get(action=Ev.PSC_LINKED)
    assert str(event.target_id) == str(personas.regine.pk) and event.details == {"psc_only": False}


def test_linking_a_titulaires_reach_waits_for_her_approval(personas):
    grant = actions.link(actor=personas.adam, user=personas.remi, national_id="899700000022")
    assert isinstance(grant, GrantRequest) and grant.kind == Kind.PSC
    assert not PscLink.objects.filter(user=personas.remi).exists()
    approvals.approve(actor=personas.alice, req=grant)
    assert PscLink.objects.get(user=personas.remi).national_id == "899700000022"
    assert Event.objects.get(action=Ev.PSC_LINKED).details["request"] == str(grant.public_id)


def test_an_identifier_links_one_account_only(personas):
    actions.link(actor=personas.adam, user=personas.regine, national_id="899700000044")
    with pytest.raises(actions.ActionError, match="déjà relié"):
        actions.link(actor=personas.adam, user=personas.adam, national_id="899700000044")


@pytest.mark.parametrize("bad", ["", "12", "8997-0000-0044", "x" * 30])
def test_a_malformed_identifier_is_refused(personas, bad):
    with pytest.raises(actions.ActionError, match="Identifiant national invalide"):
        actions.link(actor=personas.adam, user=personas.regine, national_id=bad)
    assert not PscLink.objects.exists()


def test_linking_a_refused_professional_keeps_the_name_shown_for_confirmation(personas):
    _seen()
    actions.link(actor=personas.adam, user=personas.regine, national_id="899700000033")
    link = PscLink.objects.get(user=personas.regine)
    assert (link.display_name, link.profession) == ("Inès INCONNUE", "Infirmier")
    assert not PscUnknownAttempt.objects.exists()


def test_psc_only_removes_the_password(personas):
    actions.link(actor=personas.adam, user=personas.regine, national_id="899700000044")
    actions.set_psc_only(actor=personas.adam, user=personas.regine, psc_only=True)
    personas.regine.refresh_from_db()
    assert not personas.regine.has_usable_password()
    assert Event.objects.get(action=Ev.PSC_ONLY_CHANGED).details == {"psc_only": True}


def test_unlink(personas):
    actions.link(actor=personas.adam, user=personas.regine, national_id="899700000044")
    actions.unlink(actor=personas.adam, user=personas.regine)
    assert not PscLink.objects.exists()
    assert Event.objects.filter(action=Ev.PSC_UNLINKED, target_id=str(personas.regine.pk)).exists()
    with pytest.raises(actions.ActionError):
        actions.unlink(actor=personas.adam, user=personas.regine)


def test_refused_professionals_are_forgotten_after_30_days(personas):
    old = _seen("899700000055")
    PscUnknownAttempt.objects.filter(pk=old.pk).update(last_seen=timezone.now() - timezone.timedelta(days=31))
    _seen()
    assert actions.purge_unknown_attempts() == 1
    assert list(PscUnknownAttempt.objects.values_list("national_id", flat=True)) == ["899700000033"]


def test_the_admin_page_shows_a_refused_professional_for_confirmation(client, personas):
    _seen()
    client.force_login(personas.adam, backend="hygie.accounts.backends.HygieBackend")
    page = client.get(reverse("psc_admin") + "?identifiant=899700000033").content.decode()
    assert "Inès INCONNUE" in page and "Infirmier" in page and 'id="psc-chosen"' in page


def test_the_admin_page_refuses_bad_input_in_french(client, personas):
    sign_in(client, personas.adam)
    assert reauthenticate(client).status_code == 302
    response = client.post(reverse("psc_admin"), {"user": personas.regine.public_id, "national_id": "12"})
    assert response.status_code == 400
    assert "Identifiant national invalide" in response.content.decode()
    assert not PscLink.objects.exists()
