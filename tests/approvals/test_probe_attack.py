"""Issue 18.1, the outside probe: the administrator created a locum account, gave it a replacement
for a titulaire, signed in as it and read that titulaire's consultations. Now nothing opens until
the titulaire approves, and the titulaire is the one who is asked."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hygie.access.policy import Role
from hygie.accounts.models import Replacement, User
from hygie.approvals.models import GrantRequest, Kind, Status
from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.accounts.flows import submit_password
from tests.approvals.helpers import decide, signed_in
from tests.factories import enrol_totp, make_consultation

LOCUM_PASSWORD = "Provisoire!Cabinet2031"  # noqa: S105


def _admin_assembles_a_locum(adam: Client, alice: User) -> User:
    r = adam.post(
        reverse("user_create"),
        {"username": "loic", "first_name": "Loïc", "last_name": "Faux", "email": "", "role": Role.REMPLACANT,
         "profession": "", "password": LOCUM_PASSWORD},
    )
    assert r.status_code == 302
    loic = User.objects.get(username="loic")
    now = timezone.localtime()
    r = adam.post(
        reverse("user_replacement", args=[loic.public_id]),
        {"titulaire": alice.pk, "starts_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
         "ends_at": (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")},
    )
    assert r.status_code == 302
    return loic


def test_the_administrator_cannot_read_a_titulaires_consultations_through_a_locum(personas):
    consultation = make_consultation(personas.alice_patient, personas.alice)
    adam = signed_in(personas.adam)
    loic = _admin_assembles_a_locum(adam, personas.alice)

    # The replacement is only a request: no replacement exists, the account cannot sign in...
    assert not Replacement.objects.filter(remplacant=loic).exists()
    req = GrantRequest.objects.get(account=loic)
    assert (req.kind, req.status, req.titulaire, req.requested_by) == (
        Kind.REPLACEMENT, Status.PENDING, personas.alice, personas.adam
    )
    r = submit_password(Client(), "loic", LOCUM_PASSWORD)
    assert list(r.context["form"].non_field_errors()) == ["L'identifiant ou le mot de passe est incorrect."]
    # ...and even with its first login done by whoever knows the provisional password (the
    # administrator), a session reaches nothing.
    enrol_totp(loic)
    User.objects.filter(pk=loic.pk).update(must_change_password=False)
    loic.refresh_from_db()
    for url in (reverse("consultation_detail", args=[consultation.public_id]),
                reverse("patient_detail", args=[personas.alice_patient.public_id])):
        as_loic = Client()
        as_loic.force_login(loic, backend="hygie.accounts.backends.HygieBackend")
        r = as_loic.get(url)
        assert r.status_code == 404 or r["Location"].startswith(reverse("account_login")), r

    # The administrator cannot approve their own request.
    assert adam.get(reverse("grant_detail", args=[req.public_id])).status_code == 403
    assert decide(adam, req, "approve").status_code == 403

    # The titulaire sees it on the dashboard and approves it after confirming her password.
    alice = signed_in(personas.alice)
    page = alice.get("/").content.decode()
    assert "Demandes à approuver" in page and reverse("grant_detail", args=[req.public_id]) in page
    assert decide(alice, req, "approve").status_code == 302
    req.refresh_from_db()
    assert req.status == Status.APPLIED and req.decided_by == personas.alice and req.decided_as == "titulaire"
    assert Replacement.objects.filter(remplacant=loic, titulaire=personas.alice).exists()

    # Only now does the locum reach the consultations, and the titulaire sees the grant in force.
    as_loic = Client()
    as_loic.force_login(loic, backend="hygie.accounts.backends.HygieBackend")
    assert as_loic.get(reverse("consultation_detail", args=[consultation.public_id])).status_code == 200
    assert "Remplacement par Loïc Faux" in alice.get("/").content.decode()
    actions = list(Event.objects.filter(action__startswith="grant:").order_by("id").values_list("action", flat=True))
    assert actions == [Ev.GRANT_REQUESTED, Ev.GRANT_APPROVED, Ev.GRANT_APPLIED]
    created = Event.objects.get(action=Ev.REPLACEMENT_CREATED)
    assert created.actor == personas.adam and created.details["request"] == str(req.public_id)


def test_a_refused_replacement_never_opens_anything(personas):
    adam = signed_in(personas.adam)
    loic = _admin_assembles_a_locum(adam, personas.alice)
    req = GrantRequest.objects.get(account=loic)
    alice = signed_in(personas.alice)
    assert decide(alice, req, "refuse").status_code == 302
    req.refresh_from_db()
    assert req.status == Status.REFUSED
    assert not Replacement.objects.filter(remplacant=loic).exists()
    assert Event.objects.filter(action=Ev.GRANT_REFUSED, actor=personas.alice).exists()
    # Refused is final: approving afterwards changes nothing.
    decide(alice, req, "approve")
    req.refresh_from_db()
    assert req.status == Status.REFUSED and not Replacement.objects.filter(remplacant=loic).exists()


def test_another_titulaire_cannot_see_or_approve_it(personas):
    adam = signed_in(personas.adam)
    loic = _admin_assembles_a_locum(adam, personas.alice)
    req = GrantRequest.objects.get(account=loic)
    bob = signed_in(personas.bob)
    assert bob.get(reverse("grant_detail", args=[req.public_id])).status_code == 404
    assert decide(bob, req, "approve").status_code == 404
    req.refresh_from_db()
    assert req.status == Status.PENDING
