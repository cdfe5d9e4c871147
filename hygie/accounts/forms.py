from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm as AllauthLoginForm
from django import forms
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
