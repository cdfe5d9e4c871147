"""Evidence for the investigators (INC-2 « préserver les preuves »): the journal slice of an
incident's period, with the signed checkpoints that prove it was not rewritten, each file with
its SHA-256.

The slice runs from the last signed checkpoint before the period to a checkpoint signed at the
export (made then if needed), so that the chain can be recomputed end to end:

    chain(n) = SHA-256(0x01 || chain(n-1) || SHA-256(0x00 || payload(n)))

where payload(n) is the `payload` line of journal.jsonl as UTF-8 bytes, chain(start) the
`chain_hash` of the first checkpoint (or 32 zero bytes at the very beginning of the journal),
and every checkpoint is an Ed25519 signature of its line by the key whose public half is in
public-key.txt (hygie.audit.checkpoint.message). Events outside the incident's period carry
`"in_period": false`: they are there only to join the chain to the checkpoints.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from hygie.audit import chain, checkpoint
from hygie.audit.models import Checkpoint, Event
from hygie.incidents.models import Incident
from hygie.lib import crypto, hashchain

# The period looked at: from the start (else the discovery) minus this, to the end (else now).
MARGIN = timedelta(hours=1)

README = __doc__ or ""


def period(incident: Incident) -> tuple[datetime, datetime]:
    start = (incident.started_at or incident.discovered_at) - MARGIN
    end = (incident.ended_at + MARGIN) if incident.ended_at else timezone.now()
    return start, end


def build(incident: Incident) -> tuple[bytes, dict[str, str]]:
    """The ZIP archive, and {file name: SHA-256} of its files (also in SHA256SUMS inside)."""
    chain.seal()
    end_cp = checkpoint.make_checkpoint() or Checkpoint.objects.order_by("-seq").first()
    start, end = period(incident)
    seqs = Event.objects.filter(at__gte=start, at__lte=end, seq__isnull=False).values_list("seq", flat=True)
    first = min(seqs, default=None)
    if end_cp is None:
        raise ValueError("journal vide")
    before = (
        Checkpoint.objects.filter(seq__lt=first).order_by("-seq").first() if first is not None else end_cp
    )
    from_seq = before.seq if before is not None else 0
    previous_hash = before.chain_hash if before is not None else hashchain.GENESIS.hex()
    lines = []
    details = hashchain.DetailsCanon()
    sql = chain.select_sql(connection.vendor, "seq, chain_hash", "seq > %s AND seq <= %s", "seq")
    in_period = set(seqs)
    with connection.cursor() as cursor:
        cursor.execute(sql, [from_seq, end_cp.seq])
        for row in cursor.fetchall():
            seq, chain_hash_value, content = row[0], row[1], tuple(row[2:])
            payload = chain.payload(seq, content, details).decode()
            lines.append(json.dumps({"seq": seq, "in_period": seq in in_period, "payload": payload,
                                     "chain_hash": chain_hash_value}, ensure_ascii=False))
    checkpoints = [checkpoint.as_signed(c).as_json()
                   for c in Checkpoint.objects.filter(seq__gte=from_seq, seq__lte=end_cp.seq).order_by("seq")]
    key = checkpoint.load_or_create_signing_key()
    summary = {
        "incident": str(incident.public_id), "exercise": incident.exercise,
        "period": [start.isoformat(), end.isoformat()], "start_seq": from_seq, "start_chain_hash": previous_hash,
        "end_seq": end_cp.seq, "events": len(lines), "events_in_period": len(in_period),
        "exported_at": timezone.now().isoformat(),
    }
    files = {
        "README.txt": README.encode(),
        "incident.json": json.dumps(summary, indent=2, ensure_ascii=False).encode(),
        "journal.jsonl": ("\n".join(lines) + "\n").encode(),
        "checkpoints.jsonl": ("\n".join(checkpoints) + "\n").encode(),
        "public-key.txt": (key.public.hex() + "\n").encode(),
    }
    sums = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("SHA256SUMS", "".join(f"{h}  {n}\n" for n, h in sums.items()))
    return buf.getvalue(), sums


def verify(files: dict[str, bytes]) -> bool:
    """What an investigator does with the archive (also the test's check): the sums, the chain
    from the first checkpoint to the last, the signatures."""
    for line in files["SHA256SUMS"].decode().splitlines():
        digest, name = line.split("  ", 1)
        if hashlib.sha256(files[name]).hexdigest() != digest:
            return False
    summary = json.loads(files["incident.json"])
    current = bytes.fromhex(summary["start_chain_hash"])
    for line in files["journal.jsonl"].decode().splitlines():
        doc = json.loads(line)
        current = hashchain.next_hash(current, doc["payload"].encode())
        if current.hex() != doc["chain_hash"]:
            return False
    public = bytes.fromhex(files["public-key.txt"].decode().strip())
    signed = {}
    for line in files["checkpoints.jsonl"].decode().splitlines():
        doc = json.loads(line)
        cp = checkpoint.SignedCheckpoint(**doc)
        if not checkpoint.is_valid(cp, checkpoint.SigningKey(b"", public, crypto.key_id(public))):
            return False
        signed[cp.seq] = cp.chain_hash
    return signed.get(summary["end_seq"]) == current.hex()
