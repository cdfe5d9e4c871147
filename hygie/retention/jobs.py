"""Retention jobs (docs/retention.md): daily, each returns counts only."""

from __future__ import annotations

from datetime import timedelta

from hygie.retention import actions
from hygie.worker.registry import job


@job("retention-records", every=timedelta(days=1))
def retention_records() -> str:
    # RET-1…4, RET-7: states, records due, automatic purge if the practice turned it on.
    from hygie.keys import erasure

    erasure.sync_file()  # erasures committed by a process killed before it wrote the file
    done = actions.daily()
    return (
        f"{done['records']} dossiers, {done['due']} échus, {done['notices']} préavis, "
        f"{done['purged']} détruits"
    )


@job("retention-other-data", every=timedelta(days=1))
def retention_other_data() -> str:
    # RET-5, RET-6, RET-8, and the departed staff accounts (journal window, LOG-2).
    appointments = actions.purge_old_appointments()
    copies = actions.purge_care_sheet_copies()
    billing = actions.purge_billing_entries()
    accounts = actions.purge_departed_accounts()
    return (
        f"{appointments} rendez-vous, {copies} copies de feuilles de soins, {billing} écritures, "
        f"{accounts} anciens comptes"
    )
