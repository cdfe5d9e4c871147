from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hygie.accounts.models import User


class LinkForm(forms.Form):
    user = forms.ModelChoiceField(
        label=_("Compte Hygie"), queryset=User.objects.none(), to_field_name="public_id",
    )
    national_id = forms.CharField(
        label=_("Identifiant national Pro Santé Connect (8 suivi du numéro RPPS)"), max_length=40,
    )
    psc_only = forms.BooleanField(
        label=_("Pro Santé Connect uniquement (plus de connexion par mot de passe)"), required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(is_active=True).order_by("last_name", "first_name")
        self.fields["user"].label_from_instance = lambda u: f"{u.display_name} ({u.get_role_display()})"
