from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.urls import reverse

from hygie.approvals.models import GrantRequest
from tests.accounts.flows import reauthenticate, sign_in


def signed_in(user) -> Client:
    """Signed in for real (password and TOTP) and just re-authenticated."""
    client = Client()
    sign_in(client, user)
    assert reauthenticate(client).status_code == 302
    return client


def decide(client: Client, req: GrantRequest, decision: str):
    return client.post(reverse("grant_decide", args=[req.public_id]), {"decision": decision})


def past_the_delay(req: GrantRequest) -> None:
    """As if the referent's delay had run out (the request's own dates, not the clock)."""
    GrantRequest.objects.filter(batch=req.batch).update(
        created_at=req.created_at - timedelta(days=3), fallback_at=req.fallback_at - timedelta(days=3)
    )
    req.refresh_from_db()
