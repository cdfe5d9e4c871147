"""What Hygie keeps of its exchanges with other professionals (docs/exchange.md).

- `MssanteAccount`: the practice's account at its MSSanté operator, configured once by the
  administrator; the password or the client certificate's private key are in `secret`,
  encrypted with the keys service's secrets key like the backup targets' (hygie.exchange.account).
- `MssanteRecipient`: an address outside the MSSanté domains that a titulaire marked as an
  MSSanté address (an operator keeping its own domain).
- `Exchange`: one archive written, one message sent, one reception filed, for one patient: ids,
  counts, sizes; the correspondent's address encrypted with the patient's data key (it tells who
  cares for the patient), never in the journal.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hygie.keys.fields import EncryptedCharField, EncryptedManager


class Security(models.TextChoices):
    STARTTLS = "starttls", _("STARTTLS (587 pour SMTP, 143 pour IMAP)")
    TLS = "tls", _("TLS direct (465 pour SMTP, 993 pour IMAP)")


class AuthMethod(models.TextChoices):
    PASSWORD = "password", _("Identifiant et mot de passe")
    CERTIFICATE = "certificate", _("Certificat logiciel IGC-Santé")


class MssanteAccount(models.Model):
    """The practice's mailbox at its MSSanté operator. One row at most."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    address = models.EmailField(_("adresse MSSanté du cabinet"))
    smtp_host = models.CharField(_("serveur SMTP"), max_length=253)
    smtp_port = models.PositiveIntegerField(_("port SMTP"), default=587)
    smtp_security = models.CharField(max_length=10, choices=Security.choices, default=Security.STARTTLS)
    imap_host = models.CharField(_("serveur IMAP"), max_length=253)
    imap_port = models.PositiveIntegerField(_("port IMAP"), default=143)
    imap_security = models.CharField(max_length=10, choices=Security.choices, default=Security.STARTTLS)
    auth = models.CharField(max_length=12, choices=AuthMethod.choices, default=AuthMethod.PASSWORD)
    username = models.CharField(_("identifiant"), max_length=200, blank=True)
    # Authorities trusted for the operator's servers (PEM), e.g. IGC-Santé's, besides the system's.
    ca_pem = models.TextField(_("autorités de certification (PEM)"), blank=True)
    # The client certificate (PEM, public): its private key is in `secret`.
    client_cert_pem = models.TextField(blank=True)
    secret = models.BinaryField(default=b"", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.address


class MssanteRecipient(models.Model):
    """An address a titulaire vouched for as an MSSanté address outside the MSSanté domains."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    address = models.EmailField(unique=True)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["address"]

    def __str__(self) -> str:
        return self.address


class Direction(models.TextChoices):
    ARCHIVE = "archive", _("Archive chiffrée")
    SENT = "sent", _("Message MSSanté envoyé")
    RECEIVED = "received", _("Reçu et classé")


class Exchange(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="exchanges")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    # The MSSanté address written to or received from ("" for an archive handed over by hand).
    correspondent = EncryptedCharField(_("correspondant"), max_length=254, blank=True)
    documents = models.PositiveIntegerField(default=0)
    consultations = models.PositiveIntegerField(default=0)
    summary = models.BooleanField(default=False)
    size = models.PositiveBigIntegerField(default=0)
    # An archive waiting to be downloaded: its random file name under EXCHANGE_OUTBOX_DIR.
    outbox_name = models.CharField(max_length=40, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EncryptedManager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        # Ids only: this may reach a log line or an error page.
        return str(self.public_id)
