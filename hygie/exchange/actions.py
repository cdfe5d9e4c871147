"""Every change of the secure exchange, with its journal event (docs/exchange.md).

Objects come already fetched through hygie.access.records. The journal gets ids and counts, never
an address, a file name or a title: the correspondent's address is kept in `Exchange.correspondent`,
encrypted with the patient's data key.

During a lockdown (hygie.incidents, « Isoler Hygie ») no archive is written and no message leaves.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import secrets
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hygie.access.policy import Cap, role_can
from hygie.audit import journal
from hygie.audit.events import Ev, Outcome
from hygie.exchange import account as accounts
from hygie.exchange import content, receive, transport
from hygie.exchange.models import AuthMethod, Direction, Exchange, MssanteAccount, MssanteRecipient
from hygie.lib import exchange as rules
from hygie.patients import documents as blobs
from hygie.patients.models import Document, DocumentKind, Patient

if TYPE_CHECKING:
    # Imported by the functions that write an archive: py7zr (with pycryptodomex and cffi's C
    # parser, ~60 ms of import) is not needed by the processes that only load the URL patterns.
    from hygie.lib import sevenzip


class ActionError(Exception):
    """A refused action. The message is French and names no patient."""


LOCKDOWN_MESSAGE = (
    "Hygie est isolé (incident de sécurité en cours) : aucune archive ni aucun message ne sort "
    "tant que l'isolement n'est pas levé."
)


def lockdown_active() -> bool:
    """The incidents app's switch (hygie.incidents.lockdown.is_active), if that app is installed."""
    try:
        module = importlib.import_module("hygie.incidents.lockdown")
    except ImportError:
        return False
    return bool(module.is_active())


def _refuse_during_lockdown(actor: Any, action: Ev, patient_id: int | None = None) -> None:
    if lockdown_active():
        journal.record(
            action, actor=actor, patient_id=patient_id, outcome=Outcome.DENIED, details={"reason": "lockdown"}
        )
        raise ActionError(LOCKDOWN_MESSAGE)


# Public: a caller that journals an export before wrapping it asks first (hygie.rights, hygie.compliance).
refuse_during_lockdown = _refuse_during_lockdown

RESTRICTION_MESSAGE = (
    "Ce patient s'est opposé aux échanges de documents avec d'autres professionnels, ou en a demandé la "
    "limitation (RGPD art. 18 et 21) : rien n'a été envoyé. Le titulaire lève ce blocage depuis la demande "
    "du patient (« Droits des patients ») lorsqu'il prend fin."
)


def _refuse_if_restricted(actor: Any, action: Ev, patient: Patient, actor_role: str | None = None) -> None:
    """A restriction or an objection on "echanges" (or "tout") stops any send of this record
    (hygie.rights.restrictions, docs/rights.md); the refusal is journaled."""
    from hygie.rights import restrictions
    from hygie.rights.models import Processing

    if restrictions.blocks(patient, Processing.EXCHANGE):
        journal.record(
            action, actor=actor, actor_role=actor_role, patient_id=patient.pk, outcome=Outcome.DENIED,
            details={"reason": "restriction"},
        )
        raise ActionError(RESTRICTION_MESSAGE)


def _require(actor: Any, cap: Cap) -> None:
    if not role_can(getattr(actor, "role", ""), cap):
        raise ActionError("Votre rôle ne permet pas cette opération.")


def _counts(selection: content.Selection) -> dict[str, Any]:
    return {
        "documents": len(selection.documents),
        "consultations": len(selection.consultations),
        "summary": selection.summary,
    }


# --- Archives ------------------------------------------------------------------------------------


def outbox_dir() -> Path:
    directory = Path(settings.DATA_DIR) / "exchange"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


@dataclass(frozen=True)
class Written:
    exchange: Exchange | None
    passphrase: str
    path: Path
    members: int
    size: int


def _sources(items: list[content.Item]) -> list[sevenzip.Source]:
    from hygie.lib import sevenzip

    return [sevenzip.Source(i.name, i.size, i.open) for i in items]


def write_archive(
    *,
    actor: Any,
    selection: content.Selection,
    out: Path | None = None,
    via: str = "web",
    actor_role: str | None = None,
) -> Written:
    """A .7z (AES-256, encrypted headers) of the selection, with a new passphrase of 7 French
    words (90 bits). `out` None: into the outbox, to download from the record's page."""
    _require(actor, Cap.EXCHANGE_SEND)
    patient = selection.patient
    if selection.empty:
        raise ActionError("Choisissez au moins un élément à envoyer.")
    _refuse_during_lockdown(actor, Ev.EXCHANGE_ARCHIVE_CREATED, patient.pk)
    _refuse_if_restricted(actor, Ev.EXCHANGE_ARCHIVE_CREATED, patient, actor_role)
    passphrase = rules.new_passphrase()
    outbox_name = ""
    if out is None:
        outbox_name = secrets.token_hex(16)
        out = outbox_dir() / outbox_name
    from hygie.lib import sevenzip

    try:
        members = sevenzip.write_7z(out, _sources(content.items(selection)), passphrase)
    except (blobs.BlobError, FileNotFoundError):
        raise ActionError("Un document du dossier est illisible : archive non créée.") from None
    except OSError:
        raise ActionError("Écriture de l'archive impossible (disque plein ou dossier protégé ?).") from None
    size = out.stat().st_size
    try:
        with transaction.atomic():
            exchange = Exchange.objects.create(
                patient=patient,
                actor=actor,
                direction=Direction.ARCHIVE,
                documents=len(selection.documents),
                consultations=len(selection.consultations),
                summary=selection.summary,
                size=size,
                outbox_name=outbox_name,
            )
            journal.record(
                Ev.EXCHANGE_ARCHIVE_CREATED,
                actor=actor,
                actor_role=actor_role,
                target=exchange,
                details={**_counts(selection), "size": size, "via": via},
            )
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            out.unlink()
        raise
    return Written(exchange, passphrase, out, members, size)


def outbox_path(exchange: Exchange) -> Path | None:
    """The archive still waiting to be downloaded, or None (expired, or never in the outbox)."""
    if not exchange.outbox_name or exchange.created_at < timezone.now() - outbox_lifetime():
        return None
    path = outbox_dir() / exchange.outbox_name
    return path if path.is_file() else None


def outbox_lifetime() -> timedelta:
    return timedelta(hours=settings.EXCHANGE_OUTBOX_HOURS)


def record_download(*, actor: Any, exchange: Exchange) -> None:
    _require(actor, Cap.EXCHANGE_SEND)
    _refuse_during_lockdown(actor, Ev.EXCHANGE_ARCHIVE_DOWNLOADED, exchange.patient_id)
    exchange.downloaded_at = timezone.now()
    exchange.save(update_fields=["downloaded_at"])
    journal.record(Ev.EXCHANGE_ARCHIVE_DOWNLOADED, actor=actor, target=exchange, details={"size": exchange.size})


def purge_outbox() -> int:
    """Delete the archives whose download time is over; their count."""
    cutoff = timezone.now() - outbox_lifetime()
    done = 0
    for exchange in Exchange.objects.filter(created_at__lt=cutoff).exclude(outbox_name=""):
        with contextlib.suppress(FileNotFoundError):
            (outbox_dir() / exchange.outbox_name).unlink()
        exchange.outbox_name = ""
        exchange.save(update_fields=["outbox_name"])
        done += 1
    # Wrapped exports handed over from a page (hygie.exchange.handoff): no row, their age is the file's.
    for path in outbox_dir().glob(f"{HANDOFF_PREFIX}*"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff.timestamp():
                path.unlink()
                done += 1
    return done


HANDOFF_PREFIX = "w-"


def record_handoff_download(*, actor: Any, size: int, purpose: str) -> None:
    """A wrapped export (rights answer, « contrôle CNIL » pack) leaves as a download."""
    _refuse_during_lockdown(actor, Ev.EXCHANGE_ARCHIVE_DOWNLOADED)
    journal.record(Ev.EXCHANGE_ARCHIVE_DOWNLOADED, actor=actor, details={"size": size, "purpose": purpose[:40]})


def archive_files(
    *,
    actor: Any,
    paths: list[Path],
    out: Path,
    purpose: str,
    actor_role: str | None = None,
    members: list[tuple[str, bytes]] | None = None,
    details: dict[str, Any] | None = None,
) -> str:
    """Wrap existing export files (a rights export, the « contrôle CNIL » pack…) into a .7z with
    a new passphrase, returned. `purpose` is a short tag for the journal (e.g. "rights", "cnil").
    `members` are exports made in memory (name, bytes): they never touch the disk in clear.
    `details` join the journal event (ids only: the rights request answered)."""
    _refuse_during_lockdown(actor, Ev.EXCHANGE_FILES_ARCHIVED)
    for path in paths:
        if not path.is_file():
            raise ActionError(f"Fichier introuvable : {path.name}")
    from hygie.lib import sevenzip

    passphrase = rules.new_passphrase()
    names: set[str] = set()
    sources = []

    def unique(name: str) -> str:
        while name in names:
            name = "_" + name
        names.add(name)
        return name

    for path in paths:
        sources.append(sevenzip.Source(unique(path.name), path.stat().st_size, (lambda p=path: p.open("rb"))))
    for name, data in members or []:
        sources.append(sevenzip.Source(unique(name), len(data), (lambda d=data: io.BytesIO(d))))
    if not sources:
        raise ActionError("Aucun fichier à mettre en archive.")
    try:
        sevenzip.write_7z(out, sources, passphrase)
    except OSError:
        raise ActionError("Écriture de l'archive impossible (disque plein ou dossier protégé ?).") from None
    journal.record(
        Ev.EXCHANGE_FILES_ARCHIVED,
        actor=actor,
        actor_role=actor_role,
        details={
            **(details or {}),
            "files": len(sources), "size": out.stat().st_size, "purpose": purpose[:40],
        },
    )
    return passphrase


# --- MSSanté: recipients ---------------------------------------------------------------------------


def recipient_allowed(address: str) -> str:
    """The normalised address if it is an MSSanté address (domain, or marked by a titulaire);
    ActionError otherwise. Decided before any connection."""
    try:
        normal = rules.normalise_address(address)
    except rules.AddressError as exc:
        raise ActionError(str(exc)) from None
    if rules.is_mssante_domain(rules.domain_of(normal), settings.MSSANTE_DOMAINS):
        return normal
    if MssanteRecipient.objects.filter(address__iexact=normal).exists():
        return normal
    raise ActionError(
        "Cette adresse n'est pas une adresse de messagerie sécurisée de santé (MSSanté) : rien n'a été "
        "envoyé. Les données de santé ne partent jamais par une messagerie ordinaire ; utilisez l'adresse "
        "MSSanté du destinataire (annuaire santé), ou une archive chiffrée. Un titulaire peut déclarer une "
        "adresse MSSanté hors du domaine mssante.fr."
    )


def mark_recipient(*, actor: Any, address: str) -> MssanteRecipient:
    _require(actor, Cap.EXCHANGE_RECIPIENTS)
    try:
        normal = rules.normalise_address(address)
    except rules.AddressError as exc:
        raise ActionError(str(exc)) from None
    if MssanteRecipient.objects.filter(address__iexact=normal).exists():
        raise ActionError("Cette adresse est déjà déclarée.")
    with transaction.atomic():
        recipient = MssanteRecipient.objects.create(address=normal, marked_by=actor)
        journal.record(Ev.MSSANTE_RECIPIENT_MARKED, actor=actor, target=recipient)
    return recipient


def unmark_recipient(*, actor: Any, recipient: MssanteRecipient) -> None:
    _require(actor, Cap.EXCHANGE_RECIPIENTS)
    with transaction.atomic():
        journal.record(Ev.MSSANTE_RECIPIENT_UNMARKED, actor=actor, target=recipient)
        recipient.delete()


# --- MSSanté: the account --------------------------------------------------------------------------


def save_account(*, actor: Any, data: dict[str, Any]) -> MssanteAccount:
    """Create or change the practice's MSSanté account. A blank password or key keeps the one saved."""
    _require(actor, Cap.EXCHANGE_CONFIGURE)
    existing = accounts.current()
    keeps_secret = bool(existing and existing.secret and existing.auth == data.get("auth"))
    errors = accounts.config_errors(data, has_secret=keeps_secret)
    if errors:
        raise ActionError(" ".join(errors.values()))
    with transaction.atomic():
        acc = existing or MssanteAccount()
        previous = accounts.get_secret(existing) if existing and existing.auth == data["auth"] else {}
        for key in ("address", "smtp_host", "smtp_port", "smtp_security", "imap_host", "imap_port",
                    "imap_security", "auth", "ca_pem"):
            setattr(acc, key, data[key].strip() if isinstance(data[key], str) else data[key])
        acc.address = rules.normalise_address(acc.address)
        if acc.auth == AuthMethod.PASSWORD:
            acc.username = str(data.get("username", "")).strip()
            acc.client_cert_pem = ""
            accounts.set_secret(acc, {"password": data.get("password") or previous.get("password", "")})
        else:
            acc.username = ""
            acc.client_cert_pem = str(data.get("client_cert_pem", "")).strip()
            accounts.set_secret(acc, {"private_key": data.get("private_key") or previous.get("private_key", "")})
        acc.save()
        journal.record(
            Ev.MSSANTE_ACCOUNT_CHANGED, actor=actor, target=acc, details={"created": existing is None, "auth": acc.auth}
        )
    return acc


def remove_account(*, actor: Any) -> None:
    _require(actor, Cap.EXCHANGE_CONFIGURE)
    acc = accounts.current()
    if acc is None:
        return
    with transaction.atomic():
        journal.record(Ev.MSSANTE_ACCOUNT_REMOVED, actor=actor, target=acc)
        acc.delete()


def _account() -> MssanteAccount:
    acc = accounts.current()
    if acc is None:
        raise ActionError(
            "La messagerie sécurisée n'est pas configurée : l'administrateur renseigne le compte MSSanté du "
            "cabinet (page « Messagerie sécurisée »)."
        )
    return acc


# --- MSSanté: sending ------------------------------------------------------------------------------

SUBJECT = "Documents médicaux"


def build_message(
    *, acc: MssanteAccount, recipient: str, selection: content.Selection, note: str, author: str
) -> EmailMessage:
    """The message: a short text, and IHE_XDM.ZIP holding the documents and METADATA.XML (the INS
    when the identity is qualified). The subject names no one: it travels in operators' logs."""
    items = content.items(selection)
    limit = settings.MSSANTE_MAX_MB * 1024 * 1024
    if sum(i.size for i in items) > limit:
        raise ActionError(
            f"Les documents choisis dépassent {settings.MSSANTE_MAX_MB} Mo, la taille qu'accepte la messagerie "
            "sécurisée : envoyez-en moins à la fois, ou une archive chiffrée."
        )
    docs = []
    for item in items:
        with item.open() as fh:
            docs.append(rules.XdmDocument(item.title, item.content_type, fh.read(), item.extension or ".bin"))
    ins = selection.patient.ins or None
    package = rules.xdm_zip(docs, ins=ins, author=author, when=timezone.localtime())
    msg = EmailMessage()
    msg["From"] = acc.address
    msg["To"] = recipient
    msg["Subject"] = SUBJECT
    msg["Message-ID"] = make_msgid(domain=rules.domain_of(acc.address))
    body = (note.strip() + "\n\n" if note.strip() else "") + (
        f"{len(docs)} document(s) joint(s) au format IHE XDM (IHE_XDM.ZIP).\n"
        f"Envoyé par {author} avec Hygie, par messagerie sécurisée de santé.\n"
    )
    msg.set_content(body)
    msg.add_attachment(package, maintype="application", subtype="zip", filename="IHE_XDM.ZIP")
    return msg


def send_message(*, actor: Any, selection: content.Selection, recipient: str, note: str = "") -> Exchange:
    """Send the selection to an MSSanté address through the practice's operator."""
    _require(actor, Cap.EXCHANGE_SEND)
    patient = selection.patient
    if selection.empty:
        raise ActionError("Choisissez au moins un élément à envoyer.")
    address = recipient_allowed(recipient)  # before anything else: no connection for a wrong address
    _refuse_during_lockdown(actor, Ev.EXCHANGE_MESSAGE_SENT, patient.pk)
    _refuse_if_restricted(actor, Ev.EXCHANGE_MESSAGE_SENT, patient)
    acc = _account()
    author = formataddr((actor.get_full_name() or actor.username, acc.address))
    try:
        message = build_message(acc=acc, recipient=address, selection=selection, note=note, author=author)
    except (blobs.BlobError, FileNotFoundError):
        raise ActionError("Un document du dossier est illisible : rien n'a été envoyé.") from None
    try:
        transport.send(acc, message)
    except transport.TransportError as exc:
        journal.record(
            Ev.EXCHANGE_MESSAGE_SENT, actor=actor, patient_id=patient.pk, outcome=Outcome.FAILURE,
            details=_counts(selection),
        )
        raise ActionError(str(exc)) from None
    with transaction.atomic():
        exchange = Exchange.objects.create(
            patient=patient,
            actor=actor,
            direction=Direction.SENT,
            correspondent=address,
            documents=len(selection.documents),
            consultations=len(selection.consultations),
            summary=selection.summary,
            size=len(message.as_bytes()),
        )
        journal.record(
            Ev.EXCHANGE_MESSAGE_SENT,
            actor=actor,
            target=exchange,
            details={**_counts(selection), "size": exchange.size, "ins": bool(patient.ins)},
        )
    return exchange


# --- Receiving -----------------------------------------------------------------------------------


def _file(*, actor: Any, patient: Patient, batch: receive.Batch, correspondent: str, via: str) -> Exchange:
    if not batch.filed:
        batch.discard()
        raise ActionError(
            "Aucun document PDF ou image dans ce qui a été reçu : rien n'a été classé."
            + (f" ({batch.ignored} fichier(s) d'un autre type ignoré(s).)" if batch.ignored else "")
        )
    try:
        with transaction.atomic():
            total = 0
            for name, blob in batch.filed:
                document = Document(
                    patient=patient,
                    uploaded_by=actor,
                    title=receive.title_of(name),
                    kind=DocumentKind.OTHER,
                    content_type=blob.content_type,
                    size=blob.size,
                    sha256=blob.sha256,
                    storage_name=blob.storage_name,
                )
                document.save()
                total += blob.size
                journal.record(
                    Ev.DOCUMENT_UPLOADED,
                    actor=actor,
                    target=document,
                    details={"size": blob.size, "content_type": blob.content_type, "via": "exchange"},
                )
            exchange = Exchange.objects.create(
                patient=patient,
                actor=actor,
                direction=Direction.RECEIVED,
                correspondent=correspondent,
                documents=len(batch.filed),
                size=total,
            )
            journal.record(
                Ev.EXCHANGE_RECEIVED,
                actor=actor,
                target=exchange,
                details={"documents": len(batch.filed), "ignored": batch.ignored, "size": total, "via": via},
            )
    except BaseException:
        batch.discard()
        raise
    return exchange


def receive_archive(*, actor: Any, patient: Patient, path: Path, passphrase: str) -> Exchange:
    """File the documents of a received .7z or .zip into the patient's record."""
    _require(actor, Cap.EXCHANGE_RECEIVE)
    try:
        batch = receive.from_archive(path, passphrase, patient)
    except rules.ArchiveRefused as exc:
        journal.record(
            Ev.EXCHANGE_RECEPTION_REFUSED, actor=actor, patient_id=patient.pk, outcome=Outcome.FAILURE,
            details={"via": "archive", "why": type(exc).__name__},
        )
        raise ActionError(str(exc)) from None
    return _file(actor=actor, patient=patient, batch=batch, correspondent="", via="archive")


def inbox(*, actor: Any) -> list[transport.Received]:
    _require(actor, Cap.EXCHANGE_RECEIVE)
    acc = _account()
    try:
        found = transport.inbox(acc)
    except transport.TransportError as exc:
        raise ActionError(str(exc)) from None
    journal.record(Ev.MSSANTE_INBOX_VIEWED, actor=actor, details={"messages": len(found)})
    return found


def receive_message(*, actor: Any, patient: Patient, uid: str) -> Exchange:
    """File the documents of one message of the MSSanté box into the patient's record; the
    message is then flagged read (it leaves the list of messages to file)."""
    _require(actor, Cap.EXCHANGE_RECEIVE)
    acc = _account()
    try:
        msg = transport.fetch(acc, uid)
        batch = receive.from_message(msg, patient)
    except transport.TransportError as exc:
        raise ActionError(str(exc)) from None
    except rules.ArchiveRefused as exc:
        journal.record(
            Ev.EXCHANGE_RECEPTION_REFUSED, actor=actor, patient_id=patient.pk, outcome=Outcome.FAILURE,
            details={"via": "mssante", "why": type(exc).__name__},
        )
        raise ActionError(str(exc)) from None
    if batch.ins and patient.ins and batch.ins != patient.ins:
        batch.discard()
        raise ActionError(
            "L'INS indiqué par le message n'est pas celui de ce patient : rien n'a été classé. "
            "Vérifiez le dossier choisi."
        )
    sender = ""
    with contextlib.suppress(rules.AddressError, AttributeError, IndexError, TypeError):
        sender = rules.normalise_address(str(msg["From"].addresses[0].addr_spec))
    exchange = _file(actor=actor, patient=patient, batch=batch, correspondent=sender, via="mssante")
    try:
        transport.mark_filed(acc, uid)
    except transport.TransportError:
        pass  # filed all the same; the message stays in the list, filing it again is visible
    return exchange
