"""Wrapped data keys and the erasure register. No personal data here: ids, key ids, ciphertext."""

from __future__ import annotations

from django.db import models


class PatientKey(models.Model):
    """A patient's data key (DEK), wrapped by the master key (KEK) named by `kek_id`.

    Deleting this row is crypto-shredding: every ciphertext of the patient, in the database,
    its pages and old backups, becomes unreadable (see docs/encryption.md for backups).
    """

    patient = models.OneToOneField("patients.Patient", on_delete=models.CASCADE, related_name="data_key")
    kek_id = models.CharField(max_length=8, db_index=True)
    wrapped = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    rewrapped_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"PatientKey({self.patient_id}, {self.kek_id})"


class ErasureRegister(models.Model):
    """Patients erased for good: internal id and date only, so that a restored backup can
    erase them again (hygie keys reapply-erasures). Also appended to a file next to the key file."""

    patient_ref = models.BigIntegerField(unique=True)
    erased_at = models.DateTimeField()
    # A retention purge says which rule ran out and when (hygie.lib.retention: "RET-1"…);
    # empty for an erasure asked by a titulaire (right to erasure, mistake).
    rule = models.CharField(max_length=20, blank=True, default="")
    expired_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["erased_at"]

    def __str__(self) -> str:
        return f"Erasure({self.patient_ref})"
