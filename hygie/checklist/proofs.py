"""Proof files of declarations, encrypted at rest.

A proof is not patient data (an invoice, a screenshot of the Wi-Fi settings, a training
certificate), so it is not under a patient's data key: it is sealed with the keys service's
secrets key (the practice-level key that already protects TOTP secrets and backup destination
secrets, docs/encryption.md), AES-256-GCM, its associated data binding it to its declaration: a
proof copied onto another row does not decrypt. Only PDF and images are accepted (sniffed from
the first bytes, as for patient documents), up to PROOF_MAX_MB.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from hygie.keys import service as key_service
from hygie.patients.documents import sniff, unsupported_message

_AD_PREFIX = b"hygie:checklist-proof\x1f"
# Proofs live in the database row (and so in every backup): a scan or a photo, not a video.
PROOF_MAX_MB = 10

EXTENSIONS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/tiff": "tif",
}


class ProofError(Exception):
    """A refused proof file. The message is French, for the user."""


def max_mb() -> int:
    return min(PROOF_MAX_MB, settings.UPLOAD_MAX_MB)


def max_bytes() -> int:
    return max_mb() * 1024 * 1024


def read_upload(upload: Any) -> bytes:
    """The bytes of an uploaded proof, refused (ProofError) when too large, empty or not a PDF
    or an image. Nothing is stored here."""
    if upload.size is not None and upload.size > max_bytes():
        raise ProofError(_("Le justificatif dépasse la taille maximale autorisée (%(max)s Mo).") % {"max": max_mb()})
    data = upload.read(max_bytes() + 1)
    check(data)
    return data


def check(data: bytes) -> str:
    """The content type of an acceptable proof, or ProofError."""
    if not data:
        raise ProofError(_("Le justificatif est vide."))
    if len(data) > max_bytes():
        raise ProofError(_("Le justificatif dépasse la taille maximale autorisée (%(max)s Mo).") % {"max": max_mb()})
    kind = sniff(data[:16])
    if kind is None:
        raise ProofError(unsupported_message())
    return kind


def _ad(public_id: Any) -> bytes:
    return _AD_PREFIX + str(public_id).encode()


def seal(public_id: Any, data: bytes) -> bytes:
    return key_service.secrets_key().encrypt(data, _ad(public_id))


def open_sealed(public_id: Any, sealed: bytes) -> bytes:
    return key_service.secrets_key().decrypt(bytes(sealed), _ad(public_id))
