"""Forms of the secure exchange. Plain HTML forms: they work without JavaScript."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hygie.exchange.models import AuthMethod, Security

MODE_ARCHIVE = "archive"
MODE_MSSANTE = "mssante"


class SendForm(forms.Form):
    summary = forms.BooleanField(label=_("Synthèse du dossier (identité, INS, antécédents), en PDF"), required=False)
    consultations = forms.MultipleChoiceField(
        label=_("Consultations"), required=False, widget=forms.CheckboxSelectMultiple
    )
    documents = forms.MultipleChoiceField(label=_("Documents"), required=False, widget=forms.CheckboxSelectMultiple)
    mode = forms.ChoiceField(
        label=_("Comment l'envoyer"),
        choices=[
            (MODE_ARCHIVE, _("Archive 7z chiffrée (AES-256) à télécharger, avec une phrase de passe")),
            (MODE_MSSANTE, _("Message par la messagerie sécurisée de santé (MSSanté)")),
        ],
        initial=MODE_ARCHIVE,
        widget=forms.RadioSelect,
    )
    recipient = forms.CharField(
        label=_("Adresse MSSanté du destinataire"), required=False, max_length=254,
        help_text=_("Par exemple prenom.nom@medecin.mssante.fr (annuaire santé)."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    note = forms.CharField(
        label=_("Message d'accompagnement (facultatif)"), required=False, max_length=4000, widget=forms.Textarea
    )

    def __init__(self, *args: Any, consultations: list[tuple[str, str]], documents: list[tuple[str, str]],
                 mssante: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["consultations"].choices = consultations
        self.fields["documents"].choices = documents
        if not mssante:
            self.fields["mode"].choices = self.fields["mode"].choices[:1]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("summary") or data.get("consultations") or data.get("documents")):
            raise forms.ValidationError(_("Choisissez au moins un élément à envoyer."))
        if data.get("mode") == MODE_MSSANTE and not (data.get("recipient") or "").strip():
            self.add_error("recipient", _("Indiquez l'adresse MSSanté du destinataire."))
        return data


class ReceiveForm(forms.Form):
    archive = forms.FileField(label=_("Archive reçue (.7z ou .zip)"))
    passphrase = forms.CharField(
        label=_("Phrase de passe (donnée par l'expéditeur)"), required=False, max_length=500,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )


class AccountForm(forms.Form):
    address = forms.EmailField(label=_("Adresse MSSanté du cabinet"))
    smtp_host = forms.CharField(label=_("Serveur SMTP (envoi)"), max_length=253)
    smtp_port = forms.IntegerField(label=_("Port SMTP"), initial=587, min_value=1, max_value=65535)
    smtp_security = forms.ChoiceField(label=_("Sécurité SMTP"), choices=Security.choices, initial=Security.STARTTLS)
    imap_host = forms.CharField(label=_("Serveur IMAP (réception)"), max_length=253)
    imap_port = forms.IntegerField(label=_("Port IMAP"), initial=143, min_value=1, max_value=65535)
    imap_security = forms.ChoiceField(label=_("Sécurité IMAP"), choices=Security.choices, initial=Security.STARTTLS)
    auth = forms.ChoiceField(label=_("Authentification"), choices=AuthMethod.choices, widget=forms.RadioSelect,
                             initial=AuthMethod.PASSWORD)
    username = forms.CharField(label=_("Identifiant"), required=False, max_length=200)
    password = forms.CharField(
        label=_("Mot de passe"), required=False, max_length=500,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Laissez vide pour garder celui enregistré."),
    )
    client_cert_pem = forms.CharField(
        label=_("Certificat logiciel IGC-Santé (PEM)"), required=False, widget=forms.Textarea, max_length=20000
    )
    private_key = forms.CharField(
        label=_("Clé privée du certificat (PEM)"), required=False, widget=forms.Textarea(attrs={"autocomplete": "off"}),
        max_length=20000, help_text=_("Laissez vide pour garder celle enregistrée. Gardée chiffrée."),
    )
    ca_pem = forms.CharField(
        label=_("Autorités de certification de l'opérateur (PEM, facultatif)"), required=False,
        widget=forms.Textarea, max_length=100000,
        help_text=_("Par exemple les autorités IGC-Santé, si les serveurs de l'opérateur en ont un certificat."),
    )


class RecipientForm(forms.Form):
    address = forms.EmailField(label=_("Adresse MSSanté hors du domaine mssante.fr"))
