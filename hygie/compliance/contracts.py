"""Processor contracts, encrypted at rest.

A contract is an organisational document, not patient data: like the checklist's proofs it is
sealed with the keys service's secrets key (AES-256-GCM), its associated data binding it to its
processor row, so that a contract copied onto another row does not decrypt. Only PDF and images
are accepted (sniffed from the first bytes, hygie.checklist.proofs.check), up to
proofs.PROOF_MAX_MB.
"""

from __future__ import annotations

from typing import Any

from hygie.checklist import proofs
from hygie.keys import service as key_service

_AD_PREFIX = b"hygie:processor-contract\x1f"
EXTENSIONS = proofs.EXTENSIONS
ContractError = proofs.ProofError


def read_upload(upload: Any) -> bytes:
    """The bytes of an uploaded contract; ContractError (French) when too large, empty, or not a
    PDF or an image. Nothing is stored here."""
    return proofs.read_upload(upload)


def check(data: bytes) -> str:
    return proofs.check(data)


def _ad(public_id: Any) -> bytes:
    return _AD_PREFIX + str(public_id).encode()


def seal(public_id: Any, data: bytes) -> bytes:
    return key_service.secrets_key().encrypt(data, _ad(public_id))


def open_sealed(public_id: Any, sealed: bytes) -> bytes:
    return key_service.secrets_key().decrypt(bytes(sealed), _ad(public_id))
