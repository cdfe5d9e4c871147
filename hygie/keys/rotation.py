"""`hygie keys rotate`: a new master key (KEK), every data key re-wrapped, the old KEK dropped.

The practice keeps working meanwhile (Tink style: add, promote, then retire):
1. the new KEK is added to the key file as primary, the old one kept: running servers re-read
   the file at their next request (hygie.keys.service), wrap new data keys with the new KEK
   and still unwrap the old ones;
2. data keys are re-wrapped in batches, one transaction each;
3. once no data key names the old KEK, it is removed from the key file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.keys import service
from hygie.keys.models import PatientKey
from hygie.lib import crypto, keyfile


@dataclass
class RotationReport:
    old_kek: str
    new_kek: str
    rewrapped: int
    retired: list[str]


def _rewrap_batch(new: crypto.AeadKey, batch_size: int) -> int:
    with transaction.atomic():
        rows = list(
            PatientKey.objects.select_for_update(of=("self",))
            .exclude(kek_id=new.key_id)
            .values_list("pk", "wrapped", "patient__public_id")[:batch_size]
        )
        if not rows:
            return 0
        now = timezone.now()
        updated = []
        for pk, wrapped, uuid in rows:
            ad = service.wrap_ad(str(uuid))
            raw = service.keyring().decrypt(bytes(wrapped), ad)
            updated.append(PatientKey(pk=pk, kek_id=new.key_id, wrapped=new.encrypt(raw, ad), rewrapped_at=now))
        PatientKey.objects.bulk_update(updated, ["kek_id", "wrapped", "rewrapped_at"])
        return len(rows)


def rotate(
    *, batch_size: int = 500, grace_seconds: float = 2.0, progress: Callable[[int], None] | None = None
) -> RotationReport:
    path = Path(settings.KEY_FILE).expanduser()
    # Passphrase mode: opened with the key the command was unlocked with, and written sealed
    # again under the same passphrase (the protection travels with the material).
    material = keyfile.load(path, protection=service.protection())
    old_id = material.primary_kek
    new_raw = crypto.random_key()
    new = crypto.AeadKey(new_raw)
    # 1. Add and promote. The old KEK stays until nothing needs it.
    material = material.with_kek(new_raw, primary=True)
    keyfile.write(path, material)
    service.refresh()
    # Let running servers finish the requests that started with the old primary key.
    time.sleep(grace_seconds)
    # 2. Re-wrap, batch after batch, until no data key names an old KEK.
    total = 0
    while True:
        done = _rewrap_batch(new, batch_size)
        if not done:
            break
        total += done
        if progress:
            progress(total)
    # 3. Retire the KEKs no data key names any more.
    referenced = set(PatientKey.objects.values_list("kek_id", flat=True).distinct())
    retired = [kid for kid in material.keks if kid != new.key_id and kid not in referenced]
    for kid in retired:
        material = material.without_kek(kid)
    keyfile.write(path, material)
    service.refresh()
    with transaction.atomic():
        journal.record(
            Ev.KEYS_ROTATED,
            actor_role="cli",
            details={"old_kek": old_id, "new_kek": new.key_id, "rewrapped": total, "retired": retired},
        )
    return RotationReport(old_id, new.key_id, total, retired)
