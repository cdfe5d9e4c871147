"""Patient forms. Every refusal says why, in French; nothing is saved until the form is valid."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hygie.access.policy import Role
from hygie.accounts.models import User
from hygie.lib import vitals
from hygie.patients import documents
from hygie.patients.actions import BREAK_GLASS_MIN_REASON
from hygie.patients.models import DocumentKind, Sex
from hygie.patients.search import parse

DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]
DATETIME_FORMATS = ["%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y", "%Y-%m-%d"]
_INS = re.compile(r"^(\d{5})(\d{2}|2[AB])(\d{6})(\d{2})$")
_PHONE = re.compile(r"^\+?[0-9 .()-]{6,25}$")


def ins_is_valid(value: str) -> bool:
    """13 characters (Corsica: 2A / 2B as department) and a key of 97 - (number mod 97)."""
    match = _INS.match(value)
    if not match:
        return False
    head, department, tail, key = match.groups()
    # Corsican departments count as 19 (2A) and 18 (2B) in the key computation.
    department = {"2A": "19", "2B": "18"}.get(department, department)
    number = int(head + department + tail)
    return 97 - (number % 97) == int(key)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        # The browser's date picker sends and expects AAAA-MM-JJ; typed JJ/MM/AAAA is accepted too.
        super().__init__(attrs={"placeholder": "JJ/MM/AAAA", **(attrs or {})}, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"placeholder": "JJ/MM/AAAA HH:MM", **(attrs or {})}, format="%Y-%m-%dT%H:%M")


def _date_field(label: str, required: bool = True, help_text: str = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        input_formats=DATE_FORMATS,
        widget=DateInput(),
        error_messages={"invalid": _("Saisissez une date au format JJ/MM/AAAA.")},
    )


class IdentityForm(forms.Form):
    birth_name = forms.CharField(label=_("Nom de naissance"), max_length=100)
    usage_name = forms.CharField(label=_("Nom d'usage"), max_length=100, required=False)
    first_names = forms.CharField(label=_("Prénoms"), max_length=150)
    birth_date = _date_field(_("Date de naissance"))
    # No default: a pre-selected sex would be saved unread by a hurried user.
    sex = forms.ChoiceField(
        label=_("Sexe"),
        choices=[("", _("— choisir —")), *Sex.choices],
        error_messages={"required": _("Indiquez le sexe du patient.")},
    )
    ins = forms.CharField(
        label=_("INS / NIR"),
        max_length=21,
        required=False,
        help_text=_("15 caractères, clé comprise (2A ou 2B pour la Corse)."),
    )
    phone = forms.CharField(label=_("Téléphone"), max_length=30, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    address = forms.CharField(label=_("Adresse"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, with_death_date: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("birth_name", "usage_name", "first_names", "phone", "email", "address", "ins"):
            # Browsers must not remember patients' details in their autofill history.
            self.fields[name].widget.attrs["autocomplete"] = "off"
        if with_death_date:
            self.fields["death_date"] = _date_field(_("Date de décès"), required=False)
            self.fields["declared_last_visit"] = _date_field(
                _("Dernière consultation (ancien logiciel)"),
                required=False,
                help_text=_(
                    "Pour un dossier repris d'un autre logiciel : la date de la dernière consultation "
                    "qu'il connaissait. Elle fait courir la durée légale de conservation."
                ),
            )

    def _clean_text(self, name: str) -> str:
        return " ".join(self.cleaned_data.get(name, "").split())

    def clean_birth_name(self) -> str:
        return self._clean_text("birth_name")

    def clean_usage_name(self) -> str:
        return self._clean_text("usage_name")

    def clean_first_names(self) -> str:
        return self._clean_text("first_names")

    def clean_birth_date(self) -> date:
        value: date = self.cleaned_data["birth_date"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("La date de naissance ne peut pas être dans le futur."))
        if value.year < 1890:
            raise forms.ValidationError(_("Vérifiez l'année de naissance."))
        return value

    def clean_ins(self) -> str:
        value = re.sub(r"\s+", "", self.cleaned_data.get("ins", "")).upper()
        if value and not ins_is_valid(value):
            raise forms.ValidationError(
                _("INS invalide : 13 caractères suivis d'une clé de 2 chiffres, et la clé doit correspondre.")
            )
        return value

    def clean_phone(self) -> str:
        value = self.cleaned_data.get("phone", "").strip()
        if value and not _PHONE.match(value):
            raise forms.ValidationError(
                _("Numéro de téléphone invalide : chiffres, espaces, points, tirets, + en tête.")
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        death, birth = data.get("death_date"), data.get("birth_date")
        if death and birth and death < birth:
            self.add_error("death_date", _("La date de décès ne peut pas précéder la date de naissance."))
        if death and death > timezone.localdate():
            self.add_error("death_date", _("La date de décès ne peut pas être dans le futur."))
        last = data.get("declared_last_visit")
        if last and birth and last < birth:
            self.add_error(
                "declared_last_visit", _("La dernière consultation ne peut pas précéder la date de naissance.")
            )
        if last and last > timezone.localdate():
            self.add_error("declared_last_visit", _("La dernière consultation ne peut pas être dans le futur."))
        return data


class PatientCreateForm(IdentityForm):
    """Identity, and for whom: only asked when the user works for several titulaires."""

    def __init__(self, *args: Any, practitioners: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        queryset = User.objects.filter(pk__in=practitioners, role=Role.TITULAIRE, is_active=True)
        self.single_practitioner = queryset.first() if len(practitioners) == 1 else None
        if len(practitioners) > 1:
            self.fields["practitioner"] = forms.ModelChoiceField(
                label=_("Praticien titulaire"),
                queryset=queryset,
                to_field_name="public_id",
                empty_label=_("— choisir —"),
                error_messages={"invalid_choice": _("Choisissez un praticien de la liste.")},
            )
            self.order_fields(["practitioner"])

    def practitioner(self) -> User | None:
        if "practitioner" in self.fields:
            return self.cleaned_data.get("practitioner")
        return self.single_practitioner


class HistoryForm(forms.Form):
    history = forms.CharField(label=_("Antécédents"), required=False, widget=forms.Textarea(attrs={"rows": 12}))


def _vital(label: str, places: int) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        decimal_places=places,
        max_digits=4 if places else 3,
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 6}),
        error_messages={
            "invalid": _("Saisissez un nombre (virgule pour les décimales)."),
            "max_decimal_places": _("Au plus %(max)s décimale(s)."),
            "max_digits": _("Valeur trop grande."),
            "max_whole_digits": _("Valeur trop grande."),
        },
    )


class ConsultationForm(forms.Form):
    date = forms.DateTimeField(
        label=_("Date et heure"),
        input_formats=DATETIME_FORMATS,
        widget=DateTimeInput(),
        error_messages={"invalid": _("Saisissez une date au format JJ/MM/AAAA HH:MM.")},
    )
    motif = forms.CharField(label=_("Motif"), max_length=200)
    observations = forms.CharField(label=_("Observations"), required=False, widget=forms.Textarea(attrs={"rows": 12}))
    examination = forms.CharField(label=_("Examen clinique"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    conclusion = forms.CharField(label=_("Conclusion"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    plan = forms.CharField(
        label=_("Conduite à tenir"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Traitement, examens demandés, prochain rendez-vous."),
    )
    weight_kg = _vital(_("Poids (kg)"), 1)
    height_cm = _vital(_("Taille (cm)"), 0)
    systolic = _vital(_("Pression systolique (mmHg)"), 0)
    diastolic = _vital(_("Pression diastolique (mmHg)"), 0)
    pulse = _vital(_("Pouls (/min)"), 0)
    temperature = _vital(_("Température (°C)"), 1)

    TEXT_FIELDS = ("examination", "conclusion", "plan")
    VITAL_FIELDS = ("weight_kg", "height_cm", "systolic", "diastolic", "pulse", "temperature")

    def main_fields(self) -> list[Any]:
        return [self[name] for name in ("date", "motif", "observations")]

    def text_fields(self) -> list[Any]:
        return [self[name] for name in self.TEXT_FIELDS]

    def vital_fields(self) -> list[Any]:
        return [self[name] for name in self.VITAL_FIELDS]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for problem in vitals.problems({name: data.get(name) for name in self.VITAL_FIELDS
                                         if name not in self.errors}):
            self.add_error(problem.field, str(problem))
        for name in self.TEXT_FIELDS:
            if isinstance(data.get(name), str):
                data[name] = data[name].strip()
        return data

    def clean_date(self) -> Any:
        value = self.cleaned_data["date"]
        if timezone.localdate(value) > timezone.localdate():
            raise forms.ValidationError(_("La date d'une consultation ne peut pas être postérieure à aujourd'hui."))
        if value.year < 1900:
            raise forms.ValidationError(_("Vérifiez l'année de la consultation."))
        return value

    def clean_motif(self) -> str:
        value = self.cleaned_data["motif"].strip()
        if not value:
            raise forms.ValidationError(_("Indiquez le motif de la consultation."))
        return value


class DocumentForm(forms.Form):
    title = forms.CharField(label=_("Titre"), max_length=200)
    kind = forms.ChoiceField(label=_("Type"), choices=DocumentKind.choices, initial=DocumentKind.OTHER)
    file = forms.FileField(
        label=_("Fichier"),
        help_text=_("PDF ou image (PNG, JPEG, GIF, WebP, TIFF)."),
        # A hint for the file picker only: the content decides (see documents.sniff).
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/*"}),
        error_messages={"required": _("Choisissez un fichier."), "empty": _("Le fichier est vide.")},
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > documents.max_bytes():
            raise forms.ValidationError(documents.too_large_message())
        # A first look, for a friendly message; the storage checks again while it streams.
        upload.seek(0)
        head = upload.read(16)
        upload.seek(0)
        if documents.sniff(head) is None:
            raise forms.ValidationError(documents.unsupported_message())
        return upload


class CareTeamForm(forms.Form):
    operation = forms.ChoiceField(choices=[("add", "add"), ("remove", "remove")])
    practitioner = forms.ModelChoiceField(
        label=_("Praticien titulaire"),
        queryset=User.objects.filter(role=Role.TITULAIRE, is_active=True),
        to_field_name="public_id",
        error_messages={
            "required": _("Choisissez un praticien."),
            "invalid_choice": _("Choisissez un praticien titulaire actif."),
        },
    )


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Nom, prénom, date (JJ/MM/AAAA) ou année de naissance, ou INS"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "type": "search"}),
        error_messages={"required": _("Saisissez au moins 2 lettres, une date de naissance ou un INS.")},
    )

    def clean_q(self) -> str:
        value = self.cleaned_data["q"].strip()
        if not parse(value).usable:
            raise forms.ValidationError(_("Saisissez au moins 2 lettres, une date de naissance ou un INS."))
        return value


class BreakGlassSearchForm(SearchForm):
    """Outside their care teams a titulaire must already know who they look for: a name and a
    birth date, or an INS. Two letters alone would list the whole practice."""

    q = forms.CharField(
        label=_("Nom et date de naissance (JJ/MM/AAAA), ou INS"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "type": "search"}),
        error_messages={"required": _("Saisissez le nom et la date de naissance du patient, ou son INS.")},
    )

    def clean_q(self) -> str:
        value = self.cleaned_data["q"].strip()
        parsed = parse(value)
        if not (parsed.ins or (parsed.dates and len("".join(parsed.names)) >= 2)):
            raise forms.ValidationError(_("Saisissez le nom et la date de naissance du patient, ou son INS."))
        return value


class BreakGlassForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif de l'accès exceptionnel"),
        min_length=BREAK_GLASS_MIN_REASON,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Obligatoire, au moins 10 caractères. Le motif est enregistré dans le journal et sera revu."),
        error_messages={
            "required": _("Indiquez le motif de l'accès exceptionnel."),
            "min_length": _("Le motif doit faire au moins %(limit_value)d caractères."),
        },
    )

    def clean_reason(self) -> str:
        value = self.cleaned_data["reason"].strip()
        if len(value) < BREAK_GLASS_MIN_REASON:
            raise forms.ValidationError(
                _("Le motif doit faire au moins %(n)d caractères.") % {"n": BREAK_GLASS_MIN_REASON}
            )
        return value


class EraseForm(forms.Form):
    """Typing the patient's code proves the user means this record, and knows it is for good."""

    code = forms.CharField(
        label=_("Code du patient, pour confirmer"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={"required": _("Saisissez le code du patient pour confirmer l'effacement.")},
    )

    def __init__(self, *args: Any, code: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = code

    def clean_code(self) -> str:
        value = re.sub(r"\s", "", self.cleaned_data["code"]).upper()
        if value != self.expected:
            raise forms.ValidationError(_("Ce n'est pas le code de ce patient : rien n'a été effacé."))
        return value
