"""The register of patients' rights requests (docs/rights.md) and the restriction flags they set.

Never query these from a view: go through hygie.access.records (scope) and hygie.rights.actions
(every change, with its journal event). Names and what was seen of an identity document are
encrypted with the patient's data key; the register keeps, in clear, only what proves the answer
without naming anyone: the patient's pseudonymous code, the right, the dates, the rule, the status.
A request survives the erasure of its record (its patient becomes NULL): its encrypted fields
then go with the destroyed key, and the page shows the codes only.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hygie.keys.fields import EncryptedCharField, EncryptedManager, EncryptedTextField
from hygie.lib.rights import Right as RightTag


class Right(models.TextChoices):
    ACCESS = RightTag.ACCESS.value, _("Communication du dossier (accès et copie)")
    PORTABILITY = RightTag.PORTABILITY.value, _("Portabilité (copie dans un format structuré)")
    RECTIFICATION = RightTag.RECTIFICATION.value, _("Rectification")
    ERASURE = RightTag.ERASURE.value, _("Effacement")
    RESTRICTION = RightTag.RESTRICTION.value, _("Limitation du traitement")
    OBJECTION = RightTag.OBJECTION.value, _("Opposition")


class Requester(models.TextChoices):
    PATIENT = "patient", _("Le patient lui-même")
    PARENT = "parent", _("Titulaire de l'autorité parentale (patient mineur)")
    GUARDIAN = "tuteur", _("Tuteur (majeur protégé)")
    HEIR = "ayant_droit", _("Ayant droit d'un patient décédé")


class HeirGround(models.TextChoices):
    # CSP L1110-4, V: the three purposes for which an heir receives information.
    CAUSE = "cause_deces", _("Connaître les causes de la mort")
    MEMORY = "memoire", _("Défendre la mémoire du défunt")
    RIGHTS = "droits", _("Faire valoir ses droits")


class Channel(models.TextChoices):
    IN_PERSON = "sur_place", _("Sur place, au cabinet")
    MAIL = "courrier", _("Courrier")
    EMAIL = "courriel", _("Courriel")
    OTHER = "autre", _("Autre")


class IdentityDocument(models.TextChoices):
    ID_CARD = "cni", _("Carte nationale d'identité")
    PASSPORT = "passeport", _("Passeport")
    RESIDENCE = "titre_sejour", _("Titre de séjour")
    LICENCE = "permis", _("Permis de conduire")
    KNOWN = "connu", _("Personne connue du praticien, vue en personne")
    OTHER = "autre", _("Autre pièce")


class Status(models.TextChoices):
    OPEN = "en_cours", _("En cours")
    ANSWERED = "repondue", _("Répondue")
    REFUSED = "refusee", _("Refusée")


class RefusalGround(models.TextChoices):
    RETENTION = "conservation_legale", _("Obligation légale de conservation (RGPD art. 17.3.b et c, CSP R1112-7)")
    IDENTITY = "identite", _("Identité ou qualité du demandeur non établie")
    HEIR = "ayant_droit", _("Ayant droit : information non nécessaire au motif, ou opposition du défunt (CSP L1110-4)")
    MINOR = "opposition_mineur", _("Opposition du patient mineur (CSP L1111-5)")
    UNFOUNDED = "infondee", _("Demande manifestement infondée ou excessive (RGPD art. 12.5)")
    LEGITIMATE = "motifs_legitimes", _("Motifs légitimes et impérieux, ou soins (RGPD art. 21.1, art. 9.2.h)")


class RightsRequest(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # SET_NULL: the request is the proof of the answer and outlives an erased record.
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.SET_NULL, related_name="rights_requests"
    )
    patient_code = models.CharField(max_length=12, editable=False)
    # The titulaire who answers (the patient's, at receipt): the scope of an erased record's request.
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    right = models.CharField(_("droit exercé"), max_length=20, choices=Right.choices)
    received_at = models.DateTimeField(_("reçue le"))
    channel = models.CharField(_("canal"), max_length=20, choices=Channel.choices)
    requester = models.CharField(_("demandeur"), max_length=20, choices=Requester.choices)
    requester_name = EncryptedCharField(_("nom du demandeur (s'il n'est pas le patient)"), max_length=150, blank=True)
    heir_ground = models.CharField(_("motif de l'ayant droit"), max_length=20, choices=HeirGround.choices, blank=True)
    identity_document = models.CharField(_("pièce d'identité vue"), max_length=20, choices=IdentityDocument.choices)
    identity_seen = EncryptedCharField(_("ce qui a été vérifié"), max_length=300, blank=True)
    quality_seen = EncryptedCharField(_("justificatif de la qualité vu"), max_length=300, blank=True)
    identity_checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The deadline, computed by hygie.lib.rights when the request is recorded or extended.
    old_information = models.BooleanField(default=False)
    earliest_at = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField()
    rule = models.CharField(max_length=30)
    extended_on = models.DateField(_("patient informé de la prolongation le"), null=True, blank=True)
    # The answer.
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    answered_on = models.DateField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refusal_ground = models.CharField(max_length=30, choices=RefusalGround.choices, blank=True)
    kept_until = models.DateField(null=True, blank=True)  # an erasure refused: the record is kept until
    answer_note = EncryptedTextField(_("réponse apportée"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EncryptedManager()

    class Meta:
        ordering = ["due_on", "received_at"]
        indexes = [models.Index(fields=["status", "due_on"])]

    def __str__(self) -> str:
        # Ids only: this may reach a log line or an error page.
        return str(self.public_id)

    @property
    def is_open(self) -> bool:
        return self.status == Status.OPEN

    @property
    def erased(self) -> bool:
        return self.patient_id is None


class Processing(models.TextChoices):
    REMINDERS = "rappels", _("Rappels de rendez-vous (SMS, courriel)")
    EXCHANGE = "echanges", _("Échanges de documents avec d'autres professionnels")
    ALL = "tout", _("Tout traitement autre que la conservation du dossier")


class RestrictionKind(models.TextChoices):
    RESTRICTION = "limitation", _("Limitation (RGPD art. 18)")
    OBJECTION = "opposition", _("Opposition (RGPD art. 21)")


class RecordRestriction(models.Model):
    """A flag on a record that blocks one processing until lifted (hygie.rights.restrictions)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="restrictions")
    request = models.ForeignKey(
        RightsRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="restrictions"
    )
    kind = models.CharField(max_length=20, choices=RestrictionKind.choices)
    processing = models.CharField(_("traitement concerné"), max_length=20, choices=Processing.choices)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.public_id)

    @property
    def in_force(self) -> bool:
        return self.lifted_at is None
