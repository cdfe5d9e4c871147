"""Signed checkpoints of the journal's chain.

A checkpoint says "at position `seq` the chain value was `chain_hash`", signed with an Ed25519
key kept next to the key file, outside the data dir and the database. It is stored twice: in
the database (travels with backups) and appended to a checkpoint file outside the data dir, so
that rewriting or cutting the journal in the database is caught even if the checkpoint rows
are rewritten too.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone

from hygie.audit import chain, conf
from hygie.audit.models import Checkpoint
from hygie.lib import crypto, hashchain, privatefile
from hygie.lib.env import ConfigError

SIGNING_KEY_VERSION = 1
# Domain separation: a checkpoint signature can never be replayed as another kind of signature.
_CONTEXT = b"hygie-journal-checkpoint-v1\n"


@dataclass(frozen=True)
class SigningKey:
    private: bytes
    public: bytes
    key_id: str


@dataclass(frozen=True)
class SignedCheckpoint:
    seq: int
    chain_hash: str
    at: str  # hashchain.format_time
    key_id: str
    signature: str

    def as_json(self) -> str:
        return hashchain.canonical_json(
            {"seq": self.seq, "chain_hash": self.chain_hash, "at": self.at, "key_id": self.key_id,
             "signature": self.signature}
        )


def message(seq: int, chain_hash: str, at: str, key_id: str) -> bytes:
    body = {"seq": seq, "chain_hash": chain_hash, "at": at, "key_id": key_id}
    return _CONTEXT + hashchain.canonical_json(body).encode()


# --- The signing key -----------------------------------------------------------------------


def load_signing_key(path: Path | None = None) -> SigningKey:
    path = path or conf.signing_key_file()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("version") != SIGNING_KEY_VERSION:
            raise ValueError
        private = bytes.fromhex(doc["ed25519_private_key"])
        public = crypto.ed25519_public_key(private)
    except FileNotFoundError:
        raise ConfigError(f"Clé de signature du journal introuvable : {path}.") from None
    except OSError as exc:
        raise ConfigError(f"Clé de signature du journal illisible : {path} ({exc.strerror}).") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(f"Clé de signature du journal endommagée : {path}.") from None
    return SigningKey(private, public, crypto.key_id(public))


def _signing_key_text(private: bytes) -> str:
    return json.dumps({"version": SIGNING_KEY_VERSION, "ed25519_private_key": private.hex()})


def load_or_create_signing_key(path: Path | None = None) -> SigningKey:
    """Created on first need. Written to a temporary file then hard-linked into place, so that
    two processes starting at once end up with the same key and never read a half-written file."""
    path = path or conf.signing_key_file()
    if not path.exists():
        privatefile.write_new(path, _signing_key_text(crypto.ed25519_generate()))
    return load_signing_key(path)


class SigningKeyConflict(Exception):
    """Another journal signing key is already on this machine. French message for the user."""


def has_signing_key(private: bytes, path: Path | None = None) -> bool:
    """Whether `private` is already this machine's journal signing key: False if there is none,
    SigningKeyConflict if there is another one (or an unreadable file)."""
    path = path or conf.signing_key_file()
    if not path.exists() and not path.is_symlink():
        return False
    try:
        current = load_signing_key(path)
    except ConfigError:
        raise SigningKeyConflict(
            f"Clé de signature du journal illisible : {path}. Déplacez ce fichier (ne le supprimez pas), "
            "puis recommencez."
        ) from None
    if current.private != private:
        raise SigningKeyConflict(
            f"Une autre clé de signature du journal existe déjà : {path} (clé {current.key_id}). Elle a "
            "peut-être signé des points de contrôle sur cette machine : elle n'est pas remplacée. "
            "Déplacez-la (ne la supprimez pas), puis recommencez."
        )
    return True


def install_signing_key(private: bytes, path: Path | None = None) -> bool:
    """The signing key of a recovery kit, written (0600) if this machine has none: True if
    written, False if the same one is already there; never replaces another one
    (SigningKeyConflict)."""
    path = path or conf.signing_key_file()
    crypto.ed25519_public_key(private)  # a valid key, or ValueError
    if has_signing_key(private, path):
        return False
    if privatefile.write_new(path, _signing_key_text(private)):
        return True
    has_signing_key(private, path)  # another process wrote one meanwhile: the same, or a conflict
    return False


# --- Making checkpoints --------------------------------------------------------------------


def make_checkpoint(now: datetime | None = None, using: str = DEFAULT_DB_ALIAS) -> Checkpoint | None:
    """Sign the current end of the chain. None if the journal is empty or already checkpointed
    at its current end."""
    key = load_or_create_signing_key()
    chain.seal(using)
    now = now or timezone.now()
    with transaction.atomic(using=using):
        head = chain.lock_head(using)
        if head.seq == 0 or Checkpoint.objects.using(using).filter(seq=head.seq).exists():
            return None
        at = hashchain.format_time(now)
        signature = crypto.ed25519_sign(key.private, message(head.seq, head.chain_hash, at, key.key_id))
        checkpoint = Checkpoint.objects.using(using).create(
            seq=head.seq, chain_hash=head.chain_hash, at=now, key_id=key.key_id, signature=signature.hex()
        )
    # After the commit only: a checkpoint in the file must never describe a rolled-back state.
    append_to_file(as_signed(checkpoint))
    return checkpoint


def maybe_checkpoint(now: datetime | None = None, using: str = DEFAULT_DB_ALIAS) -> Checkpoint | None:
    """For the periodic worker: a checkpoint if the last one is older than the interval."""
    now = now or timezone.now()
    last = Checkpoint.objects.using(using).order_by("-seq").values_list("at", flat=True).first()
    if last is not None and now - last < conf.checkpoint_interval():
        return None
    return make_checkpoint(now, using)


def as_signed(checkpoint: Checkpoint) -> SignedCheckpoint:
    return SignedCheckpoint(
        seq=checkpoint.seq,
        chain_hash=checkpoint.chain_hash,
        at=hashchain.format_time(checkpoint.at),
        key_id=checkpoint.key_id,
        signature=checkpoint.signature,
    )


def append_to_file(checkpoint: SignedCheckpoint, path: Path | None = None) -> None:
    path = path or conf.checkpoint_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_APPEND: each line lands whole at the end even with several writers.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, stat.S_IRUSR | stat.S_IWUSR)
    try:
        os.write(fd, (checkpoint.as_json() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


class CheckpointFileError(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def read_file(path: Path | None = None) -> list[SignedCheckpoint]:
    """Every checkpoint of the file; a missing file is an empty list. Raises CheckpointFileError
    with the line number of a malformed line."""
    path = path or conf.checkpoint_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            out.append(
                SignedCheckpoint(
                    seq=int(doc["seq"]),
                    chain_hash=str(doc["chain_hash"]),
                    at=str(doc["at"]),
                    key_id=str(doc["key_id"]),
                    signature=str(doc["signature"]),
                )
            )
        except (ValueError, KeyError, TypeError):
            raise CheckpointFileError(n) from None
    return out


def is_valid(checkpoint: SignedCheckpoint, key: SigningKey) -> bool:
    try:
        signature = bytes.fromhex(checkpoint.signature)
    except ValueError:
        return False
    return checkpoint.key_id == key.key_id and crypto.ed25519_verify(
        key.public, message(checkpoint.seq, checkpoint.chain_hash, checkpoint.at, checkpoint.key_id), signature
    )
