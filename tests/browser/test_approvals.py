"""The titulaire approves a replacement in Chromium: dashboard, request, re-authentication."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from hygie.access.policy import Role
from hygie.accounts import actions as accounts
from hygie.approvals.models import GrantRequest, Status
from tests.browser.flows import sign_in
from tests.factories import PASSWORD, make_user


def test_the_titulaire_approves_a_replacement_from_her_dashboard(page, people, artifacts):
    locum = make_user("loic", Role.REMPLACANT, first_name="Loïc", last_name="Faux")
    now = timezone.now()
    req = accounts.create_replacement(
        actor=people.adam, remplacant=locum, titulaire=people.alice, starts_at=now, ends_at=now + timedelta(days=7)
    )
    accounts.reset_second_factor(actor=people.adam, user=people.alice)
    sign_in(page, people.alice)
    page.goto("/")
    for width in (1366, 768, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"approvals-dashboard-{width}.png"), full_page=True)
    page.get_by_role("link", name="Remplacement").first.click()
    for width in (1366, 768, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"approvals-detail-{width}.png"), full_page=True)
    page.get_by_role("button", name="Approuver").click()
    # Re-authentication, then the suspended decision is carried out.
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"**/approbations/{req.public_id}/")
    assert "Demande approuvée" in page.content()
    req.refresh_from_db()
    assert req.status == Status.APPLIED
    assert GrantRequest.objects.filter(account=people.alice, status=Status.PENDING).exists()
