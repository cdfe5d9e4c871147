from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from hygie.checklist import proofs
from hygie.compliance import contracts
from hygie.compliance.models import ContactKind, DataSeen, PracticeType, ProcessorService
from hygie.web.forms import date_field


class ProfileForm(forms.Form):
    practice_type = forms.ChoiceField(
        label=_("Type d'exercice"), choices=[("", "—"), *PracticeType.choices], required=False,
        help_text=_("Une MSP ou une CPTS doit désigner un délégué à la protection des données (DPO)."),
    )
    address = forms.CharField(label=_("Adresse du cabinet"), required=False, max_length=400,
                              widget=forms.Textarea(attrs={"rows": 2}))
    siret = forms.CharField(label=_("SIRET (14 chiffres, facultatif)"), required=False, max_length=20)
    finess = forms.CharField(label=_("FINESS (9 chiffres, s'il y en a un)"), required=False, max_length=12)
    contact_kind = forms.ChoiceField(label=_("Contact pour la protection des données"),
                                     choices=[("", "—"), *ContactKind.choices], required=False)
    contact_name = forms.CharField(label=_("Nom du contact"), required=False, max_length=120)
    contact_email = forms.EmailField(label=_("Adresse e-mail du contact"), required=False)
    contact_phone = forms.CharField(label=_("Téléphone du contact"), required=False, max_length=30)
    dpo_designation = forms.CharField(label=_("Numéro de désignation du DPO auprès de la CNIL (si DPO)"),
                                      required=False, max_length=40)
    hosting = forms.CharField(label=_("Où Hygie est hébergé (serveur au cabinet, ou nom de l'hébergeur)"),
                              required=False, max_length=200)
    hosting_hds = forms.BooleanField(label=_("Serveur au cabinet, ou hébergeur certifié HDS"), required=False)
    patients_per_year = forms.IntegerField(label=_("Nombre de patients différents par an (environ)"),
                                           required=False, min_value=0, max_value=10_000_000)
    shared_system = forms.BooleanField(label=_("Les praticiens partagent un même système d'information"),
                                       required=False)


class ProcessorForm(forms.Form):
    name = forms.CharField(label=_("Nom"), max_length=120)
    service = forms.ChoiceField(label=_("Rôle"), choices=ProcessorService.choices)
    purpose = forms.CharField(label=_("Ce qu'il fait pour le cabinet"), required=False, max_length=300)
    data_seen = forms.ChoiceField(label=_("Données auxquelles il a accès"), choices=DataSeen.choices)
    location = forms.CharField(label=_("Pays où sont les données"), required=False, max_length=80)
    in_eu = forms.BooleanField(label=_("Dans l'Union européenne"), required=False, initial=True)
    transfer_safeguards = forms.CharField(label=_("Garanties en cas de transfert hors UE"), required=False,
                                          max_length=300)
    hds_number = forms.CharField(label=_("Numéro du certificat HDS"), required=False, max_length=80)
    hds_expires_on = date_field(_("Fin de validité du certificat HDS"), required=False)
    contract_signed_on = date_field(_("Date du contrat de sous-traitance"), required=False)
    contract = forms.FileField(
        label=_("Contrat (PDF ou image, %(max)s Mo au plus)") % {"max": proofs.PROOF_MAX_MB}, required=False,
    )

    def clean_contract(self) -> bytes | None:
        upload = self.cleaned_data.get("contract")
        if not upload:
            return None
        try:
            return contracts.read_upload(upload)
        except contracts.ContractError as exc:
            raise forms.ValidationError(str(exc)) from None
