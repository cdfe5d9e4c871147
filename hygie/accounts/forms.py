from __future__ import annotations

from typing import Any

from allauth.account.forms import ChangePasswordForm as AllauthChangePasswordForm
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.base.forms import AuthenticateForm as AllauthAuthenticateForm
from allauth.mfa.base.forms import ReauthenticateForm as AllauthReauthenticateForm
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, validate_totp_code
from allauth.mfa.webauthn.forms import AddWebAuthnForm as AllauthAddWebAuthnForm
from django import forms
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from hygie.access.policy import Role
from hygie.accounts.models import User


class UserCreateForm(forms.Form):
    username = forms.RegexField(
        label=_("Identifiant"),
        max_length=60,
        regex=r"^[a-z0-9._-]+$",
        error_messages={"invalid": _("Lettres minuscules sans accent, chiffres, point, tiret ou souligné.")},
    )
    first_name = forms.CharField(label=_("Prénom"), max_length=150)
    last_name = forms.CharField(label=_("Nom"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), required=False)
    role = forms.ChoiceField(label=_("Rôle"), choices=Role.choices)
    profession = forms.CharField(label=_("Profession"), max_length=80, required=False)
    assists = forms.ModelMultipleChoiceField(
        label=_("Travaille pour (secrétaire, facturation)"),
        queryset=User.objects.filter(role=Role.TITULAIRE, is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    password = forms.CharField(
        label=_("Mot de passe provisoire"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("La personne devra le changer à sa première connexion."),
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Rôle"), choices=Role.choices)


class AssistsForm(forms.Form):
    assists = forms.ModelMultipleChoiceField(
        label=_("Travaille pour"),
        queryset=User.objects.filter(role=Role.TITULAIRE, is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class PasswordResetByAdminForm(forms.Form):
    password = forms.CharField(
        label=_("Nouveau mot de passe provisoire"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class ReplacementForm(forms.Form):
    titulaire = forms.ModelChoiceField(
        label=_("Praticien remplacé"), queryset=User.objects.filter(role=Role.TITULAIRE, is_active=True)
    )
    starts_at = forms.DateTimeField(label=_("Début"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(label=_("Fin"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise forms.ValidationError(_("La fin du remplacement doit suivre son début."))
        return data


class LoginForm(AllauthLoginForm):
    """allauth's login form, with the second-factor code the throttle may ask with the password
    (hygie.accounts.adapters.AccountAdapter.authenticate)."""

    code = forms.CharField(
        label=_("Code du second facteur"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self) -> dict[str, Any]:
        from hygie.accounts.adapters import LOGIN_CODE

        if self.request is not None:
            setattr(self.request, LOGIN_CODE, self.cleaned_data.get("code", ""))
        try:
            return super().clean()
        except forms.ValidationError as exc:
            if self.asks_code and getattr(exc, "code", None) == "username_password_mismatch":
                # Password or code: which one was wrong is never said.
                raise forms.ValidationError(
                    _("L'identifiant, le mot de passe ou le code est incorrect."), code="credentials_mismatch"
                ) from None
            raise

    @property
    def reset_by_email(self) -> bool:
        from django.conf import settings

        return bool(settings.PASSWORD_RESET_BY_EMAIL)

    @property
    def asks_code(self) -> bool:
        from hygie.accounts.adapters import ASKS_CODE

        return bool(getattr(self.request, ASKS_CODE, False))


# --- Second factor (allauth's forms, Hygie's wording) ----------------------------------------

_CODE_REUSED = _(
    "Ce code vient déjà d'être utilisé : chaque code ne sert qu'une fois. "
    "Attendez le code suivant de votre application (30 secondes au plus)."
)


def _reused_totp_code(user: Any, code: str) -> bool:
    """True if `code` is the user's current TOTP code but was already used (allauth keeps each
    used code in the shared cache for its whole validity window, against replay)."""
    for authenticator in Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP):
        totp = authenticator.wrap()
        assert isinstance(totp, TOTP)
        secret = get_mfa_adapter().decrypt(authenticator.data["secret"])
        if validate_totp_code(secret, code) and cache.get(totp._get_used_cache_key(code)) is not None:
            return True
    return False


class _ReusedCodeMixin:
    """A TOTP code typed a second time within its window gets « wait for the next one », not
    « Code incorrect » (the user did type the right code, just twice)."""

    user: Any

    def clean_code(self) -> str:
        try:
            return super().clean_code()  # type: ignore[misc]
        except forms.ValidationError:
            code = (getattr(self, "cleaned_data", {}) or {}).get("code", "")
            if code and _reused_totp_code(self.user, code):
                raise forms.ValidationError(_CODE_REUSED, code="code_reused") from None
            raise


class AuthenticateForm(_ReusedCodeMixin, AllauthAuthenticateForm):
    pass


class ReauthenticateForm(_ReusedCodeMixin, AllauthReauthenticateForm):
    pass


class AddWebAuthnForm(AllauthAddWebAuthnForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # allauth leaves this label to Django, which derives an English « Name » from the field.
        self.fields["name"].label = _("Nom de la clé de sécurité")
        self.fields["name"].help_text = _("Pour la reconnaître plus tard, par exemple « Clé USB bleue ».")


class ChangePasswordForm(AllauthChangePasswordForm):
    """The first login asked the password three times in a minute: at login, as « mot de passe
    actuel » on the forced change, and again before enrolling the TOTP app. A provisional
    password typed at login moments ago (within ACCOUNT_REAUTHENTICATION_TIMEOUT) is the current
    password: the forced change does not ask it again (hygie.accounts.session.just_signed_in)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from allauth.core import context

        from hygie.accounts import session

        request = context.request
        if self.user is not None and self.user.must_change_password and session.just_signed_in(request):
            del self.fields["oldpassword"]
