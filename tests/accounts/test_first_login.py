"""The first login asks the password once: not again as « mot de passe actuel » on the forced
change, nor before enrolling the TOTP app (issue 17)."""

from django.urls import reverse

from hygie.access.policy import Role
from tests.accounts.flows import age_authentications, submit_password
from tests.factories import PASSWORD, make_user

CHANGE = "/auth/password/change/"
NEW_PASSWORD = "Aurore-Boreale!2031x"


def test_it_asks_the_provisional_password_only_at_login(client, db):
    make_user("nadia", Role.TITULAIRE, must_change_password=True, mfa=False)
    submit_password(client, "nadia")
    page = client.get(CHANGE)
    assert "oldpassword" not in page.context["form"].fields
    r = client.post(CHANGE, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert r.status_code == 302
    # Straight to the TOTP enrolment: no re-authentication page in between.
    r = client.get(reverse("mfa_activate_totp"))
    assert r.status_code == 200
    assert "otpauth" in r.content.decode() or r.context["form"] is not None


def test_it_asks_the_current_password_when_the_login_is_not_recent(client, db):
    make_user("nadia", Role.TITULAIRE, must_change_password=True, mfa=False)
    submit_password(client, "nadia")
    age_authentications(client, 3600)
    form = client.get(CHANGE).context["form"]
    assert "oldpassword" in form.fields
    r = client.post(CHANGE, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert r.status_code == 200 and r.context["form"].errors


def test_it_keeps_asking_the_current_password_for_an_ordinary_change(client, db, login):
    user = make_user("nadia", Role.TITULAIRE)
    client = login(user)
    assert "oldpassword" in client.get(CHANGE).context["form"].fields
    r = client.post(CHANGE, {"oldpassword": "wrong", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert r.status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
