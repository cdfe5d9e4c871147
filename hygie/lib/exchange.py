"""Rules of the secure exchange with other professionals (docs/exchange.md), without Django.

- the passphrase of an archive: words drawn at random from the French diceware list, enough of
  them to pass the CNIL's 80 bits;
- which addresses are MSSanté addresses;
- what a received archive may hold before anything of it is written (names, counts, sizes);
- the IHE XDM package that MSSanté software expects (`IHE_XDM.ZIP`, METADATA.XML with the INS).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import secrets
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree import ElementTree as ET

from hygie.lib import passwords

# --- Passphrase ---------------------------------------------------------------------------------

# CNIL, délibération n° 2022-100 du 21 juillet 2022 (recommandation « mots de passe »), §2.1: a
# password used alone, without any other measure (no throttling, as for an archive sent away, which
# can be attacked offline), must carry at least 80 bits of entropy.
MIN_PASSPHRASE_BITS = 80
# 7 words of the 7,776-word list: 7 x 12.92 = 90.5 bits (6 words, 77.5 bits, would not do).
PASSPHRASE_WORDS = 7


def word_bits() -> float:
    return math.log2(len(passwords.french_words()))


def passphrase_bits(words: int) -> float:
    """Entropy of `words` words drawn uniformly and independently from the whole list."""
    return words * word_bits()


def new_passphrase(words: int = PASSPHRASE_WORDS) -> str:
    """Words drawn uniformly from the whole French list (secrets), joined by hyphens.

    Drawing from the whole list, repeats allowed, is what the bit count assumes: filtering the
    list or refusing repeats would lower it. Refuses a count below the CNIL's 80 bits."""
    if passphrase_bits(words) < MIN_PASSPHRASE_BITS:
        raise ValueError(f"{words} mots ne font pas {MIN_PASSPHRASE_BITS} bits")
    vocabulary = passwords.french_words()
    return "-".join(secrets.choice(vocabulary) for _ in range(words))


# --- MSSanté addresses --------------------------------------------------------------------------

# The national MSSanté space: every operator's domain is a sub-domain of mssante.fr (ANS, « Liste
# blanche des domaines MSSanté »; e.g. medecin.mssante.fr, pro.mssante.fr, ch-xxx.mssante.fr).
# Operators outside it (hospitals keeping their own domain) are added by HYGIE_MSSANTE_DOMAINS or,
# address by address, by a titulaire (hygie.exchange).
MSSANTE_ROOT_DOMAIN = "mssante.fr"
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class AddressError(ValueError):
    """An address refused; the message is French."""


def normalise_address(address: str) -> str:
    """The address, trimmed, its domain lower-cased. AddressError if it is not an address."""
    text = (address or "").strip()
    local, sep, domain = text.rpartition("@")
    domain = domain.lower().rstrip(".")
    if not sep or not _LOCAL.match(local) or local.startswith(".") or ".." in local or not _DOMAIN.match(domain):
        raise AddressError("Adresse de messagerie invalide.")
    return f"{local}@{domain}"


def domain_of(address: str) -> str:
    return normalise_address(address).rpartition("@")[2]


def is_mssante_domain(domain: str, extra_domains: Iterable[str] = ()) -> bool:
    domain = domain.lower().rstrip(".")
    allowed = {MSSANTE_ROOT_DOMAIN, *(d.strip().lower().rstrip(".") for d in extra_domains if d.strip())}
    return any(domain == d or domain.endswith("." + d) for d in allowed)


# --- What a received archive may hold -----------------------------------------------------------


class ArchiveRefused(ValueError):
    """A received archive refused before (or while) anything of it is kept; French message."""


@dataclass(frozen=True)
class Limits:
    max_files: int = 200
    max_member_bytes: int = 50 * 1024 * 1024
    max_total_bytes: int = 500 * 1024 * 1024
    # A member that unpacks to more than this many times its packed size is a bomb (zip only:
    # a solid 7z does not give a packed size per member).
    max_ratio: int = 200


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    packed: int | None = None
    is_dir: bool = False
    is_symlink: bool = False
    is_special: bool = False


_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_name(name: str) -> str | None:
    """Why a member's name may not be used (path traversal, absolute path…), or None."""
    if not name or len(name) > 255 * 4:
        return "nom vide ou trop long"
    if any(unicodedata.category(c) == "Cc" for c in name):
        return "caractère de contrôle"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "chemin absolu"
    parts = re.split(r"[\\/]+", name)
    if any(part in ("..", ".") for part in parts):
        return "remontée de dossier (../)"
    return None


def check_members(members: list[Member], limits: Limits) -> None:
    """Refuse the archive, before anything is extracted, for what its listing already shows."""
    if len(members) > limits.max_files:
        raise ArchiveRefused(
            f"L'archive contient {len(members)} fichiers : au plus {limits.max_files} sont acceptés."
        )
    total = 0
    for m in members:
        why = unsafe_name(m.name)
        if why is not None:
            raise ArchiveRefused(f"Archive refusée : un fichier a un nom dangereux ({why}).")
        if m.is_symlink:
            raise ArchiveRefused("Archive refusée : elle contient un lien symbolique.")
        if m.is_special:
            raise ArchiveRefused("Archive refusée : elle contient un fichier spécial (périphérique, tube).")
        if m.is_dir:
            continue
        if m.size < 0 or m.size > limits.max_member_bytes:
            raise ArchiveRefused(
                f"Archive refusée : un fichier dépasse {limits.max_member_bytes // (1024 * 1024)} Mo une fois "
                "décompressé."
            )
        if m.packed is not None and m.size > max(m.packed, 1) * limits.max_ratio and m.size > 1024 * 1024:
            raise ArchiveRefused("Archive refusée : taux de compression anormal (bombe de décompression).")
        total += m.size
        if total > limits.max_total_bytes:
            raise ArchiveRefused(
                f"Archive refusée : plus de {limits.max_total_bytes // (1024 * 1024)} Mo une fois décompressée "
                "(bombe de décompression ?)."
            )


@dataclass
class Budget:
    """Bytes really produced while extracting: a listing can lie, the extraction cannot."""

    limits: Limits
    total: int = 0
    by_member: dict[str, int] = field(default_factory=dict)

    def spend(self, name: str, count: int) -> None:
        self.total += count
        self.by_member[name] = self.by_member.get(name, 0) + count
        if self.by_member[name] > self.limits.max_member_bytes or self.total > self.limits.max_total_bytes:
            raise ArchiveRefused(
                "Archive refusée : elle décompresse plus que ce qu'elle annonce (bombe de décompression)."
            )


# --- IHE XDM (MSSanté) ------------------------------------------------------------------------

# INS (FR Core, fr-core-patient-ins): NIR-based INS, OID of the ANS.
INS_NIR_OID = "1.2.250.1.213.1.4.8"
_RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
_LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
DOC_ENTRY_OBJECT_TYPE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
SUBMISSION_SET = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
PATIENT_ID_SCHEME = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
SUBSET_PATIENT_ID_SCHEME = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
UNIQUE_ID_SCHEME = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"


@dataclass(frozen=True)
class XdmDocument:
    title: str
    mime_type: str
    data: bytes
    extension: str  # ".pdf", ".jpg"…


def xdm_name(index: int, extension: str) -> str:
    """An 8.3 name, as XDM on removable media requires: DOC00001.PDF."""
    ext = extension.lstrip(".").upper()[:3] or "BIN"
    return f"DOC{index:05d}.{ext}"


def _patient_id(ins: str) -> str:
    # HL7 v2 CX: INS^^^&OID&ISO^NH
    return f"{ins}^^^&{INS_NIR_OID}&ISO^NH"


def _slot(parent: ET.Element, name: str, *values: str) -> None:
    slot = ET.SubElement(parent, f"{{{_RIM}}}Slot", name=name)
    vlist = ET.SubElement(slot, f"{{{_RIM}}}ValueList")
    for v in values:
        ET.SubElement(vlist, f"{{{_RIM}}}Value").text = v


def _external_id(parent: ET.Element, scheme: str, registry_object: str, value: str, label: str) -> None:
    ext = ET.SubElement(
        parent,
        f"{{{_RIM}}}ExternalIdentifier",
        id=f"urn:uuid:{_uuid()}",
        identificationScheme=scheme,
        registryObject=registry_object,
        value=value,
    )
    name = ET.SubElement(ext, f"{{{_RIM}}}Name")
    ET.SubElement(name, f"{{{_RIM}}}LocalizedString", value=label)


def _uuid() -> str:
    return str(uuid.uuid4())


def _oid_uid() -> str:
    # A unique id as an OID under the UUID arc 2.25 (ITU-T X.667).
    return f"2.25.{uuid.uuid4().int}"


def metadata_xml(
    documents: list[tuple[str, XdmDocument]], *, ins: str | None, author: str, when: datetime
) -> bytes:
    """METADATA.XML (XDS.b submission set, ebRIM 3.0): one DocumentEntry per document, the
    patient's INS as the patient id when the identity is qualified (None: no patient id, the
    receiver files the documents by hand)."""
    ET.register_namespace("lcm", _LCM)
    ET.register_namespace("rim", _RIM)
    root = ET.Element(f"{{{_LCM}}}SubmitObjectsRequest")
    objects = ET.SubElement(root, f"{{{_RIM}}}RegistryObjectList")
    stamp = when.strftime("%Y%m%d%H%M%S")
    entry_ids = []
    for name, doc in documents:
        entry_id = f"urn:uuid:{_uuid()}"
        entry_ids.append(entry_id)
        entry = ET.SubElement(
            objects,
            f"{{{_RIM}}}ExtrinsicObject",
            id=entry_id,
            mimeType=doc.mime_type,
            objectType=DOC_ENTRY_OBJECT_TYPE,
        )
        _slot(entry, "URI", name)
        _slot(entry, "creationTime", stamp)
        _slot(entry, "size", str(len(doc.data)))
        _slot(entry, "hash", hashlib.sha1(doc.data, usedforsecurity=False).hexdigest())
        _slot(entry, "languageCode", "fr-FR")
        title = ET.SubElement(entry, f"{{{_RIM}}}Name")
        ET.SubElement(title, f"{{{_RIM}}}LocalizedString", value=doc.title)
        if ins:
            _slot(entry, "sourcePatientId", _patient_id(ins))
            _external_id(entry, PATIENT_ID_SCHEME, entry_id, _patient_id(ins), "XDSDocumentEntry.patientId")
        _external_id(entry, UNIQUE_ID_SCHEME, entry_id, _oid_uid(), "XDSDocumentEntry.uniqueId")
    subset_id = f"urn:uuid:{_uuid()}"
    package = ET.SubElement(objects, f"{{{_RIM}}}RegistryPackage", id=subset_id)
    _slot(package, "submissionTime", stamp)
    _slot(package, "authorPerson", author)
    ET.SubElement(
        package,
        f"{{{_RIM}}}Classification",
        id=f"urn:uuid:{_uuid()}",
        classifiedObject=subset_id,
        classificationNode=SUBMISSION_SET,
    )
    if ins:
        _external_id(package, SUBSET_PATIENT_ID_SCHEME, subset_id, _patient_id(ins), "XDSSubmissionSet.patientId")
    for entry_id in entry_ids:
        ET.SubElement(
            objects,
            f"{{{_RIM}}}Association",
            id=f"urn:uuid:{_uuid()}",
            associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember",
            sourceObject=subset_id,
            targetObject=entry_id,
        )
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


_README = """Paquet IHE XDM envoye par Hygie (messagerie securisee de sante MSSante).
Les documents sont dans IHE_XDM/SUBSET01 ; METADATA.XML les decrit.
"""


def xdm_zip(documents: list[XdmDocument], *, ins: str | None, author: str, when: datetime) -> bytes:
    """IHE_XDM.ZIP: README.TXT, INDEX.HTM, IHE_XDM/SUBSET01/METADATA.XML and the documents."""
    named = [(xdm_name(i, d.extension), d) for i, d in enumerate(documents, 1)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.TXT", _README)
        links = "".join(f'<li><a href="IHE_XDM/SUBSET01/{n}">{n}</a></li>' for n, _ in named)
        zf.writestr("INDEX.HTM", f"<html><body><ul>{links}</ul></body></html>")
        zf.writestr("IHE_XDM/SUBSET01/METADATA.XML", metadata_xml(named, ins=ins, author=author, when=when))
        for name, doc in named:
            zf.writestr(f"IHE_XDM/SUBSET01/{name}", doc.data)
    return buffer.getvalue()


def ins_from_metadata(xml: bytes) -> str | None:
    """The INS (NIR OID) a METADATA.XML gives for its patient, or None."""
    try:
        root = ET.fromstring(xml)  # noqa: S314 (no DTD or entity is processed by ElementTree)
    except ET.ParseError:
        return None
    for ext in root.iter(f"{{{_RIM}}}ExternalIdentifier"):
        if ext.get("identificationScheme") in (PATIENT_ID_SCHEME, SUBSET_PATIENT_ID_SCHEME):
            value = ext.get("value") or ""
            ins, _, rest = value.partition("^^^")
            if INS_NIR_OID in rest and re.fullmatch(r"[0-9AB]{13,15}", ins):
                return ins
    return None
