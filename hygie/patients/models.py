"""Patient records. Which fields are personal or medical is declared in `sensitive.py`.

Never query these models from a view or a command: go through `hygie.access.records`.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Crockford-like alphabet without look-alikes: the pseudonymous code is read aloud and typed.
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_patient_code() -> str:
    return "P-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


class Sex(models.TextChoices):
    FEMALE = "F", _("Féminin")
    MALE = "M", _("Masculin")
    OTHER = "I", _("Indéterminé")


class Patient(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Pseudonymous code: what billing sees instead of a name.
    code = models.CharField(max_length=12, unique=True, default=new_patient_code, editable=False)
    birth_name = models.CharField(_("nom de naissance"), max_length=100)
    usage_name = models.CharField(_("nom d'usage"), max_length=100, blank=True)
    first_names = models.CharField(_("prénoms"), max_length=150)
    birth_date = models.DateField(_("date de naissance"))
    sex = models.CharField(_("sexe"), max_length=1, choices=Sex.choices)
    ins = models.CharField(_("INS / NIR"), max_length=15, blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    address = models.TextField(_("adresse"), blank=True)
    death_date = models.DateField(_("date de décès"), null=True, blank=True)
    history = models.TextField(_("antécédents"), blank=True)
    # Keyed HMAC of the normalised identity: finds duplicates (imports) without plaintext.
    identity_fingerprint = models.CharField(max_length=64, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("patient")

    def __str__(self) -> str:
        # Never used in logs: Django only calls this in templates and forms.
        return self.display_name

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


class Consultation(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consultations")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    date = models.DateTimeField(_("date"))
    motif = models.CharField(_("motif"), max_length=200)
    observations = models.TextField(_("observations"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        # Ids only: this string may reach a log or an error page.
        return str(self.public_id)


class DocumentKind(models.TextChoices):
    REPORT = "compte_rendu", _("Compte rendu")
    RESULT = "resultat", _("Résultat d'examen")
    LETTER = "courrier", _("Courrier")
    PRESCRIPTION = "ordonnance", _("Ordonnance")
    OTHER = "autre", _("Autre")


class Document(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="documents")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("titre"), max_length=200)
    kind = models.CharField(_("type"), max_length=20, choices=DocumentKind.choices, default=DocumentKind.OTHER)
    # Sniffed from the content at upload, never taken from the browser.
    content_type = models.CharField(max_length=50)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    # Name of the blob under DOCUMENTS_DIR: random, says nothing of the patient.
    storage_name = models.CharField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

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
    reason = models.TextField(_("motif de l'accès"))
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        # Ids only: this string may reach a log or an error page.
        return str(self.public_id)
