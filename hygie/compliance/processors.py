"""The processors register: what Hygie already knows (its backup destinations) and what is wrong.

Each backup destination that sends data off this machine (SFTP, S3) is a processor holding
health data (encrypted, but health data all the same: CSP L1111-8 asks for HDS). When one is
configured in Hygie, a processor row is created for it, to be completed (HDS certificate,
contract). A local directory (an external disk, a share in the practice) is not a processor.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction

from hygie.backups.models import Target, TargetKind
from hygie.compliance.models import DataSeen, Processor, ProcessorService
from hygie.lib import gdpr


def _host_of(target: Target) -> str:
    config = target.config or {}
    if target.kind == TargetKind.SFTP:
        return str(config.get("host", ""))
    if target.kind == TargetKind.S3:
        return str(config.get("endpoint_url", "") or config.get("bucket", ""))
    return ""


@transaction.atomic
def sync_backup_targets() -> list[Processor]:
    """Create the processor rows of remote backup destinations that have none yet. Returns the
    rows created. Idempotent; never changes what a person entered. No journal event: this writes
    no fact, it lists a destination whose configuration change was already journaled."""
    created = []
    for target in Target.objects.exclude(kind=TargetKind.DIRECTORY).filter(processor__isnull=True):
        host = _host_of(target)
        created.append(Processor.objects.create(
            name=target.name[:120],
            service=ProcessorService.BACKUP,
            purpose=f"Destination de sauvegarde {target.get_kind_display()}" + (f" ({host})" if host else ""),
            data_seen=DataSeen.HEALTH,
            location="",
            target=target,
        ))
    return created


def warnings(today: date) -> list[str]:
    """Dashboard warnings: health data without HDS, a certificate expiring within 60 days, a
    contract missing, and remote backup destinations not yet described."""
    out: list[str] = []
    remote = Target.objects.exclude(kind=TargetKind.DIRECTORY).filter(processor__isnull=True)
    for target in remote:
        out.append(f"La destination de sauvegarde « {target.name} » est un sous-traitant à décrire "
                   "(certificat HDS, contrat).")
    for processor in Processor.objects.all():
        out.extend(gdpr.processor_warnings(processor.facts(), today))
    return out
