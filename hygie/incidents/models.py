"""Incidents and breaches (docs/incidents.md): the emergency switch, the register (GDPR
art. 33(5)) with its timeline, the practice's incident contacts (fiche réflexe), the notices sent
to patients (art. 34). Free texts here are the practice's own words about an incident: they stay
in these rows, the journal only points to them by id."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hygie.lib.breach import Art34


class Lockdown(models.Model):
    """One press of « Isoler Hygie ». In force while `lifted_at` is empty (and it is not an
    exercise). The one admin account allowed to sign in during it is chosen at the machine
    (`hygie incident lockdown --allow`, `hygie incident allow`), never from the web.

    An exercise's row (`exercise`, `incident` the simulated incident) is the switch run in
    simulation: it never locks anything (hygie.incidents.lockdown reads only real rows).
    `steps`: what each step of the switch and of its lift cut or would cut, and how long it
    took (hygie.incidents.switch), for real and simulated runs alike."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    started_at = models.DateTimeField(db_index=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8, default="web")
    reason = models.TextField()
    allowed_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    exercise = models.BooleanField(default=False)
    incident = models.ForeignKey(
        "Incident", null=True, blank=True, on_delete=models.CASCADE, related_name="drills"
    )
    steps = models.JSONField(default=list, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"lockdown {self.public_id}"


class Origin(models.TextChoices):
    # The CNIL's online form: « origine de l'incident ».
    DEVICE_LOST = "device_lost", _("Équipement perdu ou volé")
    PAPER_LOST = "paper_lost", _("Papier perdu, volé ou laissé accessible")
    INTRUSION = "intrusion", _("Intrusion, piratage, rançongiciel")
    WRONG_RECIPIENT = "wrong_recipient", _("Envoi au mauvais destinataire")
    DISCLOSURE = "disclosure", _("Divulgation ou consultation non autorisée")
    DISPOSAL = "disposal", _("Destruction ou mise au rebut non sécurisée")
    PUBLISHED = "published", _("Publication involontaire")
    OTHER = "other", _("Autre")


class Cause(models.TextChoices):
    # « Cause de l'incident »: internal or external, malicious or accidental.
    INTERNAL_MALICIOUS = "internal_malicious", _("Acte interne malveillant")
    INTERNAL_ACCIDENTAL = "internal_accidental", _("Acte interne accidentel")
    EXTERNAL_MALICIOUS = "external_malicious", _("Acte externe malveillant")
    EXTERNAL_ACCIDENTAL = "external_accidental", _("Acte externe accidentel")
    UNKNOWN = "unknown", _("Inconnue")


class Notification(models.TextChoices):
    # Art. 33: notify the CNIL, or record why the breach is unlikely to result in a risk.
    PENDING = "pending", _("À décider")
    NOTIFY = "notify", _("À notifier à la CNIL")
    NOT_REQUIRED = "not_required", _("Pas de notification : violation sans risque pour les personnes")


class Incident(models.Model):
    """One incident of the register, notified or not (art. 33(5)). `exercise`: a simulated
    incident (seed 002), marked so everywhere and never counted as a real one."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    exercise = models.BooleanField(default=False)
    title = models.CharField(_("intitulé"), max_length=200)
    established = models.BooleanField(_("violation avérée (sinon : suspectée)"), default=False)
    discovered_at = models.DateTimeField(_("découverte"))
    aware_at = models.DateTimeField(_("prise de connaissance"))
    started_at = models.DateTimeField(_("début"), null=True, blank=True)
    ended_at = models.DateTimeField(_("fin"), null=True, blank=True)
    origin = models.CharField(_("origine"), max_length=20, choices=Origin.choices, default=Origin.OTHER)
    confidentiality = models.BooleanField(_("perte de confidentialité"), default=False)
    integrity = models.BooleanField(_("perte d'intégrité"), default=False)
    availability = models.BooleanField(_("perte de disponibilité"), default=False)
    cause = models.CharField(_("cause"), max_length=20, choices=Cause.choices, default=Cause.UNKNOWN)
    media = models.TextField(_("supports concernés"), blank=True)
    circumstances = models.TextField(_("circonstances"), blank=True)
    person_categories = models.TextField(_("catégories de personnes"), blank=True)
    persons_count = models.PositiveIntegerField(_("nombre approximatif de personnes"), null=True, blank=True)
    data_categories = models.TextField(_("catégories de données"), blank=True)
    records_count = models.PositiveIntegerField(_("nombre approximatif d'enregistrements"), null=True, blank=True)
    consequences = models.TextField(_("conséquences probables"), blank=True)
    measures_taken = models.TextField(_("mesures prises"), blank=True)
    measures_planned = models.TextField(_("mesures envisagées"), blank=True)
    # Art. 34(3)(a): what left was encrypted, and its keys did not leave (ENC-3).
    encrypted_only = models.BooleanField(_("seules des données chiffrées ont été exposées"), default=False)
    keys_exposed = models.BooleanField(_("les clés de chiffrement ont pu être exposées"), default=False)
    # Pre-filled from the journal: one account and a period ("what did X open between t1 and t2").
    scope_account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    scope_from = models.DateTimeField(null=True, blank=True)
    scope_to = models.DateTimeField(null=True, blank=True)
    # Internal patient ids found in the journal for that scope (never names).
    affected_patients = models.JSONField(default=list, blank=True)
    scope_counts = models.JSONField(default=dict, blank=True)
    notification = models.CharField(max_length=20, choices=Notification.choices, default=Notification.PENDING)
    no_notification_reason = models.TextField(blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    cnil_reference = models.CharField(max_length=80, blank=True)
    complement_at = models.DateTimeField(null=True, blank=True)
    delay_reasons = models.TextField(_("motifs du retard"), blank=True)
    art34 = models.CharField(max_length=20, choices=[(a.value, a.value) for a in Art34], blank=True)
    art34_reason = models.TextField(blank=True)
    art34_decided_at = models.DateTimeField(null=True, blank=True)
    # The last stage of the 72-hour clock the worker journaled (warn24, warn48, overdue).
    deadline_stage = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-aware_at", "-id"]

    def __str__(self) -> str:
        return f"incident {self.public_id}"

    @property
    def clock_stopped(self) -> bool:
        return self.notified_at is not None or self.notification == Notification.NOT_REQUIRED


class Entry(models.Model):
    """A time-stamped line of an incident's timeline. `step` names a step of the plan (for an
    exercise, how long each took); `seconds` is the time since the previous step."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="entries")
    at = models.DateTimeField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    step = models.CharField(max_length=40, blank=True)
    text = models.TextField()
    seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"entry {self.pk}"


class PatientNotice(models.Model):
    """A letter telling one patient of the breach (art. 34), generated by someone who reaches
    that patient. Kept as the fact it was made; the letter is rebuilt on demand."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notices")
    patient_id = models.BigIntegerField()  # not a FK: survives an erased patient without naming them
    made_at = models.DateTimeField()
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"notice {self.public_id}"


class Contacts(models.Model):
    """The practice's own incident contacts, printed on the fiche réflexe (single row)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    region = models.CharField(_("région"), max_length=40, blank=True)
    csirt_name = models.CharField(_("CSIRT régional"), max_length=120, blank=True)
    csirt_phone = models.CharField(_("téléphone du CSIRT"), max_length=40, blank=True)
    provider_name = models.CharField(_("prestataire informatique"), max_length=120, blank=True)
    provider_phone = models.CharField(_("téléphone du prestataire"), max_length=40, blank=True)
    referent_name = models.CharField(_("référent sécurité du cabinet"), max_length=120, blank=True)
    referent_phone = models.CharField(_("téléphone du référent"), max_length=40, blank=True)
    dpo_contact = models.CharField(_("contact pour la CNIL (DPO ou autre)"), max_length=200, blank=True)
    insurer = models.CharField(_("assureur (cyber-risque)"), max_length=200, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return "incident contacts"

    @classmethod
    def current(cls) -> Contacts:
        return cls.objects.filter(pk=1).first() or cls(pk=1)
