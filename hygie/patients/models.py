"""Patient records. Which fields are personal or medical is declared in `sensitive.py`; exactly
those are encrypted at rest (hygie.keys.fields), with the patient's own data key.

Never query these models from a view or a command: go through `hygie.access.records`.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hygie.keys.fields import (
    EncryptedCharField,
    EncryptedDateField,
    EncryptedDecimalField,
    EncryptedEmailField,
    EncryptedManager,
    EncryptedPatientModel,
    EncryptedTextField,
)

# Crockford-like alphabet without look-alikes: the pseudonymous code is read aloud and typed.
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_patient_code() -> str:
    return "P-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


class Sex(models.TextChoices):
    FEMALE = "F", _("Féminin")
    MALE = "M", _("Masculin")
    OTHER = "I", _("Indéterminé")


# Changing one of these recomputes the patient's blind indexes (hygie.patients.indexes).
INDEXED_FIELDS = frozenset({"birth_name", "usage_name", "first_names", "birth_date", "ins"})


class Patient(EncryptedPatientModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Pseudonymous code: what billing sees instead of a name.
    code = models.CharField(max_length=12, unique=True, default=new_patient_code, editable=False)
    birth_name = EncryptedCharField(_("nom de naissance"), max_length=100)
    usage_name = EncryptedCharField(_("nom d'usage"), max_length=100, blank=True)
    first_names = EncryptedCharField(_("prénoms"), max_length=150)
    birth_date = EncryptedDateField(_("date de naissance"))
    sex = EncryptedCharField(_("sexe"), max_length=1, choices=Sex.choices)
    ins = EncryptedCharField(_("INS / NIR"), max_length=15, blank=True)
    phone = EncryptedCharField(_("téléphone"), max_length=30, blank=True)
    email = EncryptedEmailField(_("e-mail"), blank=True)
    address = EncryptedTextField(_("adresse"), blank=True)
    death_date = EncryptedDateField(_("date de décès"), null=True, blank=True)
    # For records migrated from older software: the last consultation it knew, which starts the
    # legal retention when the record holds no later consultation (hygie.lib.retention).
    declared_last_visit = EncryptedDateField(_("dernière consultation (ancien logiciel)"), null=True, blank=True)
    history = EncryptedTextField(_("antécédents"), blank=True)
    # Keyed HMAC of the normalised identity: finds duplicates (imports) without plaintext.
    identity_fingerprint = models.CharField(max_length=64, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EncryptedManager()

    class Meta:
        verbose_name = _("patient")

    def __str__(self) -> str:
        # Never used in logs: Django only calls this in templates and forms.
        return self.display_name

    def clean(self) -> None:
        # Impossible dates, refused the same way in the forms, the import and the actions.
        from hygie.lib import retention

        if self.birth_date is None:
            return
        try:
            retention.check_dates(
                birth=self.birth_date,
                last_visit=self.declared_last_visit,
                death=self.death_date,
                today=timezone.localdate(),
            )
        except retention.RetentionInputError as exc:
            field = {"birth": "birth_date", "death": "death_date"}.get(exc.field, "declared_last_visit")
            raise ValidationError({field: str(exc)}) from None

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        super().save(*args, **kwargs)
        if update_fields is None or INDEXED_FIELDS & set(update_fields):
            from hygie.patients import indexes

            indexes.refresh(self)

    @property
    def last_name(self) -> str:
        return self.usage_name or self.birth_name

    @property
    def display_name(self) -> str:
        return f"{self.last_name.upper()} {self.first_names}"


class CareTeamMember(models.Model):
    """A practitioner who follows the patient. A titulaire sees only patients of their team."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_team")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_teams")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "practitioner"], name="unique_care_team_member"),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id}:{self.practitioner_id}"


class ClinicalFields(models.Model):
    """The optional structured part of a consultation, beside the free text (issue 17): what was
    found, concluded and planned, and the vital signs (ranges and BMI: hygie.lib.vitals). All
    encrypted with the patient's data key like the motif. The texts are NULL in consultations
    written before they existed (an encrypted column takes no SQL default), "" once saved."""

    examination = EncryptedTextField(_("examen clinique"), blank=True, null=True)
    conclusion = EncryptedTextField(_("conclusion"), blank=True, null=True)
    plan = EncryptedTextField(_("conduite à tenir"), blank=True, null=True)
    weight_kg = EncryptedDecimalField(_("poids (kg)"), max_digits=4, decimal_places=1, null=True, blank=True)
    height_cm = EncryptedDecimalField(_("taille (cm)"), max_digits=3, decimal_places=0, null=True, blank=True)
    systolic = EncryptedDecimalField(_("pression systolique (mmHg)"), max_digits=3, decimal_places=0,
                                     null=True, blank=True)
    diastolic = EncryptedDecimalField(_("pression diastolique (mmHg)"), max_digits=3, decimal_places=0,
                                      null=True, blank=True)
    pulse = EncryptedDecimalField(_("pouls (/min)"), max_digits=3, decimal_places=0, null=True, blank=True)
    temperature = EncryptedDecimalField(_("température (°C)"), max_digits=3, decimal_places=1, null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def bmi(self) -> Any:
        from hygie.lib import vitals

        return vitals.bmi(self.weight_kg, self.height_cm)

    @property
    def has_vitals(self) -> bool:
        return any(getattr(self, name) is not None for name in VITAL_FIELDS)


VITAL_FIELDS = ("weight_kg", "height_cm", "systolic", "diastolic", "pulse", "temperature")
CLINICAL_FIELDS = ("examination", "conclusion", "plan", *VITAL_FIELDS)


class Consultation(ClinicalFields):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consultations")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    date = models.DateTimeField(_("date"))
    motif = EncryptedCharField(_("motif"), max_length=200)
    observations = EncryptedTextField(_("observations"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EncryptedManager()

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        # Ids only: this string may reach a log or an error page.
        return str(self.public_id)


class AppendOnly(Exception):
    """A revision is never changed once written: a change is a new revision."""


class RevisionModel(models.Model):
    """A version of a medical note, written once: its author, its time, its text (encrypted with
    the patient's data key, like the note). Erasing the patient erases them with the key."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    # None only for a version migrated from before revisions whose author the journal no longer knew.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = EncryptedManager()

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        # Ids only: this string may reach a log or an error page.
        return str(self.public_id)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly(f"{self._meta.label} {self.public_id} is append-only")
        super().save(*args, **kwargs)


class ConsultationRevision(RevisionModel, ClinicalFields):
    """One version of a consultation. The consultation row holds a copy of the latest (what lists
    show and sort by); every version, the first included, is here, never updated."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="revisions")
    date = models.DateTimeField(_("date"))
    motif = EncryptedCharField(_("motif"), max_length=200)
    observations = EncryptedTextField(_("observations"), blank=True)

    class Meta(RevisionModel.Meta):
        pass


class HistoryRevision(RevisionModel):
    """One version of a patient's antécédents (Patient.history holds a copy of the latest)."""

    text = EncryptedTextField(_("antécédents"), blank=True)

    class Meta(RevisionModel.Meta):
        pass


class DocumentKind(models.TextChoices):
    REPORT = "compte_rendu", _("Compte rendu")
    RESULT = "resultat", _("Résultat d'examen")
    LETTER = "courrier", _("Courrier")
    PRESCRIPTION = "ordonnance", _("Ordonnance")
    CERTIFICATE = "certificat", _("Certificat")
    OTHER = "autre", _("Autre")


class Document(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="documents")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = EncryptedCharField(_("titre"), max_length=200)
    kind = models.CharField(_("type"), max_length=20, choices=DocumentKind.choices, default=DocumentKind.OTHER)
    # Sniffed from the content at upload, never taken from the browser.
    content_type = models.CharField(max_length=50)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    # Name of the blob under DOCUMENTS_DIR: random, says nothing of the patient.
    storage_name = models.CharField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EncryptedManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        # Ids only: this string may reach a log or an error page.
        return str(self.public_id)


class BreakGlassAccess(models.Model):
    """An access outside the care team, with the reason typed; time-limited, to be reviewed."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="break_glass")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="break_glass")
    reason = EncryptedTextField(_("motif de l'accès"))
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = EncryptedManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        # Ids only: this string may reach a log or an error page.
        return str(self.public_id)


class BlindIndex(models.Model):
    """Truncated keyed hashes of a patient's normalised names, birth date and INS: what search
    looks up instead of plaintext (hygie.lib.blindindex). Many patients share each value."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=3)
    value = models.IntegerField()

    class Meta:
        # With patient_id, the lookup (kind, value) -> patients is answered from the index alone
        # (no visit to the table's rows): the same values, nothing more stored in the clear.
        indexes = [models.Index(fields=["kind", "value", "patient"], name="patients_bl_kind_value_patient")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"
