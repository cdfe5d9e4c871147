"""A restore never resurrects a destroyed record: a backup taken before a purge, restored after
it, comes back without the purged records — by itself, with the rule in the restored register.
Real backup and restore (age, the `hygie` restore subprocess), SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from django.core.management import call_command

from hygie.backups import service
from hygie.retention import actions


def test_a_restore_of_a_backup_from_before_the_purge_does_not_bring_them_back(practice_data, vault, restore_target):
    alice = practice_data.alice
    due = practice_data.alice_patient
    due.declared_last_visit = date(2001, 6, 15)
    due.save()
    # practice_data gave this record a consultation today: dated back to 2001 with it.
    due.consultations.update(date="2001-06-15T10:00:00Z")
    assert [d.patient.pk for d in actions.due(alice)] == [due.pk]
    service.run(vault.out)

    done = actions.purge(actor=alice, practitioner=alice, via="web")
    assert [d["rule"] for d in done] == ["RET-1"]

    args = ["backup", "restore", str(vault.out), "--to", str(restore_target.data_dir)]
    if restore_target.database_url:
        args += ["--database-url", restore_target.database_url]
    call_command(*args)
    # Nobody ran a command: the restore re-applied the register by itself.
    assert restore_target.count("patients_patient", f"WHERE id = {due.pk}") == 0
    assert restore_target.count("keys_patientkey", f"WHERE patient_id = {due.pk}") == 0
    assert restore_target.count("keys_erasureregister", f"WHERE patient_ref = {due.pk} AND rule = 'RET-1'") == 1
    # The others are all there.
    assert restore_target.count("patients_patient", f"WHERE id = {practice_data.bob_patient.pk}") == 1
