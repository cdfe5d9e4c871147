from __future__ import annotations

import base64
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from hygie.accounts.throttle import LoginThrottle
from hygie.audit import journal
from hygie.audit.events import Ev, Outcome

# Set on the request by the login form (hygie.accounts.forms.LoginForm) and read here.
LOGIN_CODE = "_hygie_login_code"
# Set here when the login must ask for a code with the password (the form shows the field).
ASKS_CODE = "_hygie_login_asks_code"
# The authenticator whose code was checked with the password (hygie.accounts.stages).
CODE_CHECKED = "_hygie_login_code_checked"


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Accounts are created by the practice's administrator only.
        return False

    def send_password_reset_mail(self, user: Any, email: str, context: dict[str, Any]) -> None:
        from hygie.accounts.actions import password_reset_requested
        from hygie.accounts.reset_urls import REQUEST_JOURNALED

        super().send_password_reset_mail(user, email, context)
        password_reset_requested(user=user)
        if self.request is not None:
            setattr(self.request, REQUEST_JOURNALED, True)

    def get_logout_redirect_url(self, request: HttpRequest) -> str:
        # A Pro Santé Connect session ends at PSC too, if the practice chose it (hygie.psc).
        from hygie.psc.logout import end_session_url

        return end_session_url(request) or str(super().get_logout_redirect_url(request))

    def get_login_stages(self) -> list[str]:
        # allauth's second-factor stage, which skips a code already checked with the password.
        return [
            "hygie.accounts.stages.AuthenticateStage" if s == "allauth.mfa.stages.AuthenticateStage" else s
            for s in super().get_login_stages()
        ]

    def authenticate(self, request: HttpRequest, **credentials: Any) -> Any:
        """The password check, throttled per (login, address) pair (hygie.lib.loginthrottle).

        Replaces allauth's lock of the login after N failures from anywhere. Beyond the
        account-wide ceiling, a password alone is not answered: the password and a
        second-factor code must come together (a signed-in user confirming their identity is
        not asked, their session already passed both).
        """
        login = credentials.get("username") or ""
        throttle = LoginThrottle(request, login)
        user_model = self._user_model()
        waiting = throttle.wait()
        if waiting.seconds:
            target = user_model.objects.filter(username__iexact=login).first() if login else None
            journal.record(
                Ev.LOGIN_LOCKED, target=target, outcome=Outcome.DENIED, actor_role="",
                details={"scope": waiting.scope, "seconds": waiting.seconds},
            )
            minutes = -(-waiting.seconds // 60)
            raise ValidationError(
                ngettext(
                    "Trop de tentatives de connexion échouées depuis cette adresse. Réessayez dans %(n)d minute.",
                    "Trop de tentatives de connexion échouées depuis cette adresse. Réessayez dans %(n)d minutes.",
                    minutes,
                )
                % {"n": minutes},
                code="too_many_login_attempts",
            )
        signed_in = bool(getattr(getattr(request, "user", None), "is_authenticated", False))
        needs_code = not signed_in and throttle.second_factor_required()
        code = str(getattr(request, LOGIN_CODE, "") or "").strip()
        if needs_code:
            setattr(request, ASKS_CODE, True)
            if not code:
                raise ValidationError(
                    _(
                        "Après de nombreuses tentatives échouées sur ce compte, la connexion demande "
                        "le mot de passe et le code du second facteur ensemble. Saisissez le code "
                        "affiché par votre application d'authentification (ou un code de secours)."
                    ),
                    code="second_factor_needed",
                )
        user = authenticate(request, **credentials)
        if user is not None and needs_code:
            checked = _check_code(request, user, code)
            if checked is None:
                user = None
            else:
                setattr(request, CODE_CHECKED, checked)
        if user is not None and not signed_in:
            _refuse_during_lockdown(user)
        if user is not None:
            throttle.succeeded()
            return user
        if throttle.failed():
            target = user_model.objects.filter(username__iexact=login).first() if login else None
            journal.record(
                Ev.LOGIN_LOCKED, target=target, outcome=Outcome.DENIED, actor_role="",
                details={"scope": "account", "second_factor_required": True},
            )
        return None

    def _user_model(self) -> Any:
        from hygie.accounts.models import User

        return User


def _refuse_during_lockdown(user: Any) -> None:
    """« Isoler Hygie » (hygie.incidents): no new login but the admin allowed at the machine.
    After the password check, so that the refusal tells nothing to someone guessing passwords."""
    from hygie.incidents import actions as incidents
    from hygie.incidents import lockdown

    if not lockdown.may_sign_in(user):
        incidents.refused(user, "login")
        raise ValidationError(
            _(
                "Hygie est isolé à la suite d'un incident de sécurité : les connexions sont suspendues. "
                "Appelez le référent ou l'administrateur du cabinet (voir la fiche réflexe)."
            ),
            code="lockdown",
        )


def _check_code(request: HttpRequest, user: Any, code: str) -> Any:
    """The authenticator (TOTP or recovery codes) that accepts `code`, else None; a wrong code
    is signalled (and journaled) like a wrong code at the second step."""
    from allauth.mfa import signals
    from allauth.mfa.models import Authenticator

    main = None
    for authenticator in Authenticator.objects.filter(user=user).exclude(type=Authenticator.Type.WEBAUTHN):
        if main is None or authenticator.type == Authenticator.Type.TOTP:
            main = authenticator
        if code and authenticator.wrap().validate_code(code):
            authenticator.user = user
            return authenticator
    if main is not None:
        signals.authentication_failed.send(
            sender=Authenticator, request=request, user=user, authenticator=main, reauthentication=False
        )
    return None


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and recovery-code seeds are encrypted at rest with the secrets key (derived
    from the key file's data root key, hygie.keys.service), never stored in clear."""

    _PREFIX = "hy1:"
    _AD = b"hygie:mfa-secret"

    def encrypt(self, text: str) -> str:
        from hygie.keys import service

        ciphertext = service.secrets_key().encrypt(text.encode("utf-8"), self._AD)
        return self._PREFIX + base64.b64encode(ciphertext).decode("ascii")

    def decrypt(self, encrypted_text: str) -> str:
        from hygie.keys import service

        if not encrypted_text.startswith(self._PREFIX):
            # Enrolled before encryption at rest: readable as is, re-encrypted at the next change.
            return encrypted_text
        ciphertext = base64.b64decode(encrypted_text[len(self._PREFIX) :])
        return service.secrets_key().decrypt(ciphertext, self._AD).decode("utf-8")

    def get_totp_issuer(self) -> str:
        from hygie.practices.models import Practice

        practice = Practice.current()
        return f"Hygie – {practice.name}" if practice else "Hygie"
