"""Every change to the compliance records, each with its journal event in the same transaction.

Refused input raises ComplianceError (French, safe to show) before anything is written. The
journal names the fields that changed, never their values (an address, a contract), and no
patient ever appears here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.compliance import contracts
from hygie.compliance.models import ContactKind, DataSeen, PracticeType, Processor, ProcessorService, Profile
from hygie.practices.models import Practice

PROFILE_FIELDS = (
    "practice_type", "address", "siret", "finess", "contact_kind", "contact_name", "contact_email",
    "contact_phone", "dpo_designation", "hosting", "hosting_hds", "patients_per_year", "shared_system",
)
PROCESSOR_FIELDS = (
    "name", "service", "purpose", "data_seen", "location", "in_eu", "transfer_safeguards", "hds_number",
    "hds_expires_on", "contract_signed_on",
)


class ComplianceError(Exception):
    """A refused change. The message is French and safe to show."""


def profile_for(practice: Practice | None = None) -> Profile | None:
    practice = practice or Practice.current()
    if practice is None:
        return None
    return Profile.objects.filter(practice=practice).first() or Profile(practice=practice)


def _digits(value: str, length: int, label: str) -> str:
    value = "".join((value or "").split())
    if value and (not value.isdigit() or len(value) != length):
        raise ComplianceError(_("Le %(label)s compte %(n)s chiffres.") % {"label": label, "n": length})
    return value


@transaction.atomic
def save_profile(*, actor: Any, actor_role: str | None = None, today: date | None = None, **values: Any) -> Profile:
    """Save the practice profile. Unknown fields are refused; SIRET and FINESS are checked."""
    today = today or timezone.localdate()
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise ComplianceError(_("Champ inconnu : %(f)s.") % {"f": ", ".join(sorted(unknown))})
    profile = profile_for()
    if profile is None:
        raise ComplianceError(_("Aucun cabinet : lancez d'abord « hygie init »."))
    if values.get("practice_type") and values["practice_type"] not in PracticeType.values:
        raise ComplianceError(_("Type d'exercice inconnu."))
    if values.get("contact_kind") and values["contact_kind"] not in ContactKind.values:
        raise ComplianceError(_("Type de contact inconnu."))
    if "siret" in values:
        values["siret"] = _digits(values["siret"], 14, "SIRET")
    if "finess" in values:
        values["finess"] = _digits(values["finess"], 9, "numéro FINESS")
    ppy = values.get("patients_per_year")
    if ppy is not None and ppy != "" and int(ppy) < 0:
        raise ComplianceError(_("Le nombre de patients par an ne peut pas être négatif."))
    changed = []
    for name, value in values.items():
        if value is None and name not in ("patients_per_year",):
            value = ""
        if isinstance(value, str):
            value = value.strip()
        if getattr(profile, name) != value:
            setattr(profile, name, value)
            changed.append(name)
    if {"patients_per_year", "shared_system", "practice_type"} & set(changed) and profile.patients_per_year is not None:
        profile.aipd_screened_on = today
    profile.updated_by = actor if getattr(actor, "pk", None) else None
    profile.save()
    if changed:
        journal.record(Ev.COMPLIANCE_PROFILE_CHANGED, actor=actor, target=profile, actor_role=actor_role,
                       details={"fields": sorted(changed)})
    return profile


def _clean_processor(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(PROCESSOR_FIELDS)
    if unknown:
        raise ComplianceError(_("Champ inconnu : %(f)s.") % {"f": ", ".join(sorted(unknown))})
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            raise ComplianceError(_("Indiquez le nom du sous-traitant."))
    if "service" in values and values["service"] not in ProcessorService.values:
        raise ComplianceError(_("Rôle du sous-traitant inconnu."))
    if "data_seen" in values and values["data_seen"] not in DataSeen.values:
        raise ComplianceError(_("Catégorie de données inconnue."))
    for name in ("purpose", "location", "transfer_safeguards", "hds_number"):
        if name in values:
            values[name] = (values[name] or "").strip()
    return values


def _attach(processor: Processor, contract: bytes | None) -> None:
    if not contract:
        return
    try:
        processor.contract_type = contracts.check(contract)
    except contracts.ContractError as exc:
        raise ComplianceError(str(exc)) from None
    processor.contract = contracts.seal(processor.public_id, contract)
    processor.contract_size = len(contract)


@transaction.atomic
def add_processor(*, actor: Any, contract: bytes | None = None, actor_role: str | None = None,
                  **values: Any) -> Processor:
    values = _clean_processor(values)
    if "name" not in values:
        raise ComplianceError(_("Indiquez le nom du sous-traitant."))
    processor = Processor(**values)
    _attach(processor, contract)
    processor.save()
    journal.record(Ev.COMPLIANCE_PROCESSOR_ADDED, actor=actor, target=processor, actor_role=actor_role,
                   details={"service": processor.service, "contract": bool(contract),
                            "hds": bool(processor.hds_number)})
    return processor


@transaction.atomic
def change_processor(*, actor: Any, processor: Processor, contract: bytes | None = None,
                     actor_role: str | None = None, **values: Any) -> Processor:
    values = _clean_processor(values)
    changed = [name for name, value in values.items() if getattr(processor, name) != value]
    for name in changed:
        setattr(processor, name, values[name])
    _attach(processor, contract)
    if contract:
        changed.append("contract")
    if not changed:
        return processor
    processor.save()
    journal.record(Ev.COMPLIANCE_PROCESSOR_CHANGED, actor=actor, target=processor, actor_role=actor_role,
                   details={"fields": sorted(changed)})
    return processor


@transaction.atomic
def remove_processor(*, actor: Any, processor: Processor) -> None:
    if processor.target_id is not None:
        raise ComplianceError(_("Ce sous-traitant est une destination de sauvegarde active : retirez d'abord la "
                                "destination dans « Sauvegardes »."))
    journal.record(Ev.COMPLIANCE_PROCESSOR_REMOVED, actor=actor, target=processor,
                   details={"service": processor.service})
    processor.delete()


def contract_downloaded(*, actor: Any, processor: Processor) -> bytes:
    data = contracts.open_sealed(processor.public_id, processor.contract)
    journal.record(Ev.COMPLIANCE_CONTRACT_DOWNLOADED, actor=actor, target=processor)
    return data


def notice_exported(*, actor: Any, kind: str, actor_role: str | None = None) -> None:
    journal.record(Ev.COMPLIANCE_NOTICE_EXPORTED, actor=actor, actor_role=actor_role, details={"kind": kind})


def pack_exported(*, actor: Any, sha256: str, files: int, sections: list[str], actor_role: str | None = None) -> None:
    journal.record(Ev.COMPLIANCE_PACK_EXPORTED, actor=actor, actor_role=actor_role,
                   details={"sha256": sha256, "files": files, "sections": sections})


def export_pack(*, actor: Any, actor_role: str | None = None) -> Any:
    """Generate the register (a version if it changed), build the pack, journal its fingerprint."""
    from hygie.compliance import pack, register

    built = pack.build(register.generate(actor=actor, actor_role=actor_role, fmt="pack"))
    pack_exported(actor=actor, actor_role=actor_role, sha256=built.sha256, files=len(built.files),
                  sections=sorted(built.unavailable))
    return built


def pack_name(day: date | None = None) -> str:
    return f"controle-cnil-{(day or timezone.localdate()):%Y%m%d}.zip"


def export_pack_archive(*, actor: Any, out: Any, actor_role: str | None = None) -> str:
    """The pack inside a 7z AES archive (hygie.exchange.actions.archive_files): the pack's
    fingerprint and the archive are journaled together, or not at all. Returns the passphrase,
    stored nowhere. Refused (and journaled) during a lockdown. ComplianceError: French, nothing kept."""
    from hygie.exchange import actions as exchange

    try:
        exchange.refuse_during_lockdown(actor, Ev.EXCHANGE_FILES_ARCHIVED)
        with transaction.atomic():
            built = export_pack(actor=actor, actor_role=actor_role)
            return exchange.archive_files(
                actor=actor, actor_role=actor_role, paths=[], members=[(pack_name(), built.data)], out=out,
                purpose="cnil", details={"sha256": built.sha256},
            )
    except exchange.ActionError as exc:
        raise ComplianceError(str(exc)) from None


def processor_warnings(today: date | None = None) -> list[str]:
    from hygie.compliance import processors

    return processors.warnings(today or timezone.localdate())


def profile_complete() -> bool:
    from hygie.compliance import register

    return not register.build()["missing"]

