"""Disaster recovery (docs/operations.md, « Reprise après sinistre ») : the practice's machine is
gone; on a new machine there is only the printed recovery kit and an off-site copy of the backups.

The new machine is other processes with nothing of the old one: no key file, no journal signing
key, no backup identity, no checkpoint file, no erasure register, an empty database. It runs
what the procedure says: `hygie keys recover`, `hygie backup restore`, `hygie audit verify`,
and finds the practice's patients and documents readable. And the backups open without Hygie
at all: the stock `age` tool and the kit's AGE-SECRET-KEY-1… line.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys

from django.core.management import call_command

from hygie.audit import checkpoint
from hygie.backups import identity, service
from hygie.lib import keyfile
from hygie.patients.models import Document, Patient


def _hygie(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "hygie.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"hygie {' '.join(args)} : {result.stdout}{result.stderr}"
    return result


def test_a_new_machine_gets_the_practice_back_from_the_kit_and_an_offsite_copy(
    practice_data, vault, restore_target, tmp_path
):
    # --- The practice's machine, before the disaster ---------------------------------------
    patients = Patient.objects.count()
    documents = Document.objects.count()
    assert patients and documents == 3
    checkpoint.make_checkpoint()  # signed: the restored journal is checked against it
    [written] = service.run(vault.out)
    kit_file = tmp_path / "kit.txt"
    call_command("keys", "recovery-kit", "--format", "txt", "--out", str(kit_file), stdout=io.StringIO())
    kit_text = kit_file.read_text()
    old_keys = {
        "keys.json": keyfile.load(vault.key_file),
        "journal-signing.key": checkpoint.load_signing_key().private,
        "backup-identity.txt": identity.load(),
    }

    # The off-site copy, brought back to the new machine (copied from the disk, `scp -r` from
    # the SFTP server, `aws s3 sync` from the bucket): the snapshots and the packs/ folder.
    offsite = tmp_path / "copie-hors-site"
    shutil.copytree(vault.out, offsite)

    # --- The new machine ------------------------------------------------------------------------
    machine = tmp_path / "nouvelle-machine"
    keys = machine / "home" / ".config" / "hygie"
    env = {
        **os.environ,
        "HOME": str(machine / "home"),
        "HYGIE_KEY_FILE": str(keys / "keys.json"),
        "HYGIE_DATA_DIR": str(machine / "hygie" / "var"),  # the installation's default, unused
        "HYGIE_CHECKPOINT_FILE": str(keys / "journal-checkpoints.jsonl"),
        "HYGIE_DATABASE_URL": restore_target.database_url,  # PostgreSQL: the new, empty database
    }
    assert not keys.exists() and not restore_target.data_dir.exists()

    # 1. The keys, from the kit.
    out = _hygie(env, "keys", "recover", "--kit", str(kit_file)).stdout
    assert "Pas encore de base Hygie ici" in out
    assert keyfile.load(keys / "keys.json").kek == old_keys["keys.json"].kek
    assert checkpoint.load_signing_key(keys / "journal-signing.key").private == old_keys["journal-signing.key"]
    assert identity.load(keys / "backup-identity.txt") == old_keys["backup-identity.txt"]
    for name in ("keys.json", "journal-signing.key", "backup-identity.txt"):
        assert (keys / name).stat().st_mode & 0o777 == 0o600
    assert not (keys / "journal-checkpoints.jsonl").exists() and not (keys / "erasures.jsonl").exists()

    # 2. The newest backup, into the new data dir (and the new database, given on the command
    # line: the procedure sets HYGIE_DATABASE_URL only afterwards).
    restore_args = ["backup", "restore", str(offsite), "--to", str(restore_target.data_dir)]
    if restore_target.database_url:
        restore_args += ["--database-url", restore_target.database_url]
    out = _hygie({**env, "HYGIE_DATABASE_URL": ""}, *restore_args).stdout
    assert written.snapshot in out
    assert (keys / "journal-checkpoints.jsonl").exists()  # none here: taken from the backup

    # 3. Hygie on the restored data: the journal verifies against the signed checkpoints with
    # the recovered signing key, documents decrypt with the recovered keys.
    restored = {**env, "HYGIE_DATA_DIR": str(restore_target.data_dir)}
    out = _hygie(restored, "audit", "verify").stdout
    checkpoints = int(re.search(r"(\d+) points? de contrôle", out).group(1))
    assert "Journal intègre" in out and checkpoints >= 1
    found = json.loads(_hygie(restored, "backup", "check-restored", "--sample", "3").stdout.strip().splitlines()[-1])
    assert found["documents_decrypted"] == 3 and found["documents_failed"] == 0
    assert found["counts"]["patients_patient"] == patients
    assert restore_target.count("patients_patient") == patients
    assert restore_target.count("patients_document") == documents
    status = _hygie(restored, "keys", "status").stdout
    assert f"Clé maîtresse {old_keys['keys.json'].primary_kek} (principale)" in status and "ATTENTION" not in status

    # --- Without Hygie at all: age, tar and the kit's AGE-SECRET-KEY-1… line only ---------------
    # The commands of docs/operations.md, « Sans Hygie du tout ».
    [secret] = re.findall(r"(?m)^AGE-SECRET-KEY-1\S+$", kit_text)
    (tmp_path / "identite.txt").write_text(secret + "\n")
    extracted = tmp_path / "extrait"
    extracted.mkdir()
    script = f"""set -euo pipefail
age -d -i ../identite.txt '{offsite / written.snapshot}' | tar -x
for paquet in '{offsite}'/packs/pack-*.age; do
    age -d -i ../identite.txt "$paquet" | tar -x documents
done
"""
    subprocess.run(["bash", "-c", script], cwd=extracted, check=True, env={**os.environ, "PATH": "/usr/bin:/bin"})
    manifest = json.loads((extracted / "MANIFEST.json").read_text())
    database = service.PG_MEMBER if restore_target.database_url else service.SQLITE_MEMBER
    assert manifest["kind"] == "snapshot" and (extracted / database).is_file()
    listed = {doc["name"]: doc["sha256"] for doc in manifest["documents"]}
    opened = {
        f"documents/{blob.name}": hashlib.sha256(blob.read_bytes()).hexdigest()
        for blob in (extracted / "documents").iterdir()
    }
    assert opened == listed and len(opened) == documents
