"""The structured parts of a record (issue 17): allergies, current treatments and alerts, drafts of
consultations kept across the idle lock, and the practitioner's letter and certificate templates.

Patient rows are encrypted with the patient's data key (fields declared in
hygie/patients/sensitive.py); they are reached through a patient fetched by hygie.access.records.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hygie.keys.fields import EncryptedCharField, EncryptedManager, EncryptedTextField
from hygie.patients.models import Patient


class ItemKind(models.TextChoices):
    ALLERGY = "allergie", _("Allergie")
    TREATMENT = "traitement", _("Traitement en cours")
    ALERT = "alerte", _("Alerte")


class ItemWritten(Exception):
    """An item's text is written once: a change is a new item, the old one stopped."""


class RecordItem(models.Model):
    """One allergy, current treatment or alert. Its text is never rewritten: stopping it (a
    treatment ended, an allergy found wrong) keeps the row with who stopped it and when, so the
    record says what was known at any date, like the note revisions."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="record_items")
    kind = models.CharField(_("type"), max_length=12, choices=ItemKind.choices)
    label = EncryptedCharField(_("intitulé"), max_length=200)
    # Allergy: the reaction; treatment: dose and rhythm; alert: what to do.
    detail = EncryptedCharField(_("précision"), max_length=300, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = EncryptedManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["patient", "ended_at"])]

    def __str__(self) -> str:
        # Ids only: this string may reach a log or an error page.
        return str(self.public_id)

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if not self._state.adding and (update_fields is None or set(update_fields) - {"ended_at", "ended_by"}):
            raise ItemWritten(f"clinical.RecordItem {self.public_id}: only ended_at/ended_by change")
        super().save(*args, **kwargs)


class ConsultationDraft(models.Model):
    """A consultation being typed, saved as the practitioner types (and by « Garder comme
    brouillon »), so that the idle lock loses nothing. One per author, patient and consultation
    (None: a new one). Its content is the form's fields as JSON, encrypted with the patient's key;
    nothing ever goes to the browser's storage. Gone when the consultation is saved or the draft
    abandoned by its author (no expiry yet: docs/record.md)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    consultation = models.ForeignKey(
        "patients.Consultation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    content = EncryptedTextField(_("brouillon"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EncryptedManager()

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["author", "patient"])]

    def __str__(self) -> str:
        return str(self.public_id)


class TemplateKind(models.TextChoices):
    LETTER = "courrier", _("Courrier")
    CERTIFICATE = "certificat", _("Certificat")


class LetterTemplate(models.Model):
    """A practitioner's own model of letter or certificate. It holds no patient data: the fields
    between braces ({nom}, {prenom}, {date_naissance}, {age}, {date}, {praticien}) are filled for one
    patient when a letter is written, and the letter itself is filed encrypted in the record."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="letter_templates")
    kind = models.CharField(_("type"), max_length=12, choices=TemplateKind.choices, default=TemplateKind.LETTER)
    title = models.CharField(_("nom du modèle"), max_length=120)
    body = models.TextField(_("texte"), max_length=8000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "title"]

    def __str__(self) -> str:
        return str(self.public_id)
