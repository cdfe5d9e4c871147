"""What the compliance register needs that Hygie cannot know by itself: the practice profile,
the processors and their contracts, and the generated versions of the register.

Everything else in the register (retention, recipients, security measures) is computed from
Hygie's own state each time (hygie.compliance.register). Nothing here holds patient data.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hygie.lib import gdpr


class PracticeType(models.TextChoices):
    INDIVIDUAL = gdpr.INDIVIDUAL, _("Exercice individuel")
    GROUP = gdpr.GROUP, _("Cabinet de groupe (plusieurs praticiens indépendants)")
    MSP = gdpr.MSP, _("Maison de santé pluriprofessionnelle (MSP)")
    CPTS = gdpr.CPTS, _("Communauté professionnelle territoriale de santé (CPTS)")
    HEALTH_CENTRE = gdpr.HEALTH_CENTRE, _("Centre de santé")


class ContactKind(models.TextChoices):
    REFERENT = "referent", _("Référent sécurité et RGPD du cabinet")
    DPO = "dpo", _("Délégué à la protection des données (DPO) désigné auprès de la CNIL")


class Profile(models.Model):
    """The controller's facts, entered once (first-run page) and kept. One per practice."""

    practice = models.OneToOneField("practices.Practice", on_delete=models.CASCADE, related_name="compliance")
    practice_type = models.CharField(_("type d'exercice"), max_length=12, choices=PracticeType.choices, blank=True)
    address = models.TextField(_("adresse du cabinet"), blank=True)
    siret = models.CharField(_("SIRET"), max_length=14, blank=True)
    finess = models.CharField(_("FINESS"), max_length=9, blank=True)
    contact_kind = models.CharField(_("contact protection des données"), max_length=10,
                                    choices=ContactKind.choices, blank=True)
    contact_name = models.CharField(_("nom du contact"), max_length=120, blank=True)
    contact_email = models.EmailField(_("adresse e-mail du contact"), blank=True)
    contact_phone = models.CharField(_("téléphone du contact"), max_length=30, blank=True)
    # The DPO's CNIL designation number, when one is designated.
    dpo_designation = models.CharField(_("numéro de désignation du DPO (CNIL)"), max_length=40, blank=True)
    # Where Hygie itself runs: the practice's own server, or a host (a processor then).
    hosting = models.CharField(_("hébergement de Hygie"), max_length=200, blank=True)
    hosting_hds = models.BooleanField(_("hébergeur certifié HDS ou serveur au cabinet"), default=False)
    # AIPD screening (CNIL référentiel cabinets médicaux 2020): asked once, dated.
    patients_per_year = models.PositiveIntegerField(_("nombre de patients par an"), null=True, blank=True)
    shared_system = models.BooleanField(_("système d'information partagé entre praticiens"), default=False)
    aipd_screened_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("profil de conformité")

    def __str__(self) -> str:
        return f"profil {self.practice_id}"


class ProcessorService(models.TextChoices):
    HOSTING = "hosting", _("Hébergement")
    BACKUP = "backup", _("Sauvegarde externalisée")
    MESSAGING = "mssante", _("Opérateur de messagerie sécurisée de santé (MSSanté)")
    SUPPORT = "support", _("Maintenance, assistance informatique")
    ACCOUNTANT = "accountant", _("Expert-comptable, association de gestion agréée")
    OTHER = "other", _("Autre")


class DataSeen(models.TextChoices):
    HEALTH = "health", _("Données de santé (dossiers, documents, sauvegardes)")
    ADMINISTRATIVE = "admin", _("Données administratives ou financières seulement")
    NONE = "none", _("Aucune donnée personnelle")


class Processor(models.Model):
    """A processor (GDPR art. 28): who, what for, what it sees, where, HDS, the contract.
    `target` links a processor to the backup destination it stands for: a destination added in
    Hygie appears here to be completed (hygie.compliance.processors.sync_backup_targets)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("nom"), max_length=120)
    service = models.CharField(_("rôle"), max_length=12, choices=ProcessorService.choices)
    purpose = models.CharField(_("ce qu'il fait pour le cabinet"), max_length=300, blank=True)
    data_seen = models.CharField(_("données auxquelles il a accès"), max_length=8, choices=DataSeen.choices,
                                 default=DataSeen.HEALTH)
    location = models.CharField(_("pays où sont les données"), max_length=80, default="France")
    in_eu = models.BooleanField(_("dans l'Union européenne"), default=True)
    transfer_safeguards = models.CharField(_("garanties en cas de transfert hors UE"), max_length=300, blank=True)
    hds_number = models.CharField(_("numéro du certificat HDS"), max_length=80, blank=True)
    hds_expires_on = models.DateField(_("fin de validité du certificat HDS"), null=True, blank=True)
    contract_signed_on = models.DateField(_("date du contrat"), null=True, blank=True)
    # AES-256-GCM under the keys service's secrets key, bound to this row (hygie.compliance.contracts).
    contract = models.BinaryField(default=b"", blank=True)
    contract_type = models.CharField(max_length=40, blank=True)
    contract_size = models.PositiveIntegerField(default=0)
    target = models.OneToOneField("backups.Target", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="processor")
    # A backup destination that has been removed: the processor stays listed (its copies stay there).
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_contract(self) -> bool:
        return self.contract_size > 0

    @property
    def health_data(self) -> bool:
        return self.data_seen == DataSeen.HEALTH

    def facts(self) -> gdpr.ProcessorFacts:
        return gdpr.ProcessorFacts(self.name, self.health_data, self.hds_number, self.hds_expires_on,
                                   self.has_contract)


class RegisterVersion(models.Model):
    """One generated register whose content differs from the previous one: dated and
    fingerprinted (its SHA-256 is also in the journal), so the controller can show how the
    register evolved."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    content = models.JSONField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"registre {self.created_at:%d/%m/%Y %H:%M} {self.sha256[:12]}"
