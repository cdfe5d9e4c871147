"""The journal's periodic jobs (run by hygie.worker)."""

from __future__ import annotations

from datetime import timedelta

from hygie.audit import actions, alerts, chain, checkpoint, conf
from hygie.audit.prune import prune
from hygie.worker.registry import job

MINUTE = timedelta(minutes=1)
# The journal holds ids, not patient data, and its signing key is not in the key file: its jobs
# run even while the keys are locked (passphrase mode).
DAY = timedelta(days=1)


@job("journal-seal", every=MINUTE, needs_keys=False)
def seal_journal() -> str:
    # On PostgreSQL, events left pending by a writer under load (see hygie.audit.chain).
    return f"{chain.seal()} événements chaînés"


@job("journal-checkpoint", every=conf.checkpoint_interval, needs_keys=False)
def checkpoint_journal() -> str:
    made = checkpoint.maybe_checkpoint()
    return f"point de contrôle à la position {made.seq}" if made else "rien de nouveau"


@job("journal-alerts", every=MINUTE, needs_keys=False)
def scan_for_alerts() -> str:
    return f"{len(alerts.scan())} nouvelles alertes"


@job("journal-verify", every=DAY, needs_keys=False)
def verify_journal() -> str:
    report = actions.verify_journal()
    return "intègre" if report.ok else f"altéré à la position {report.position}"


@job("journal-prune", every=DAY, needs_keys=False)
def prune_journal() -> str:
    # Never delete evidence of tampering: prune only a journal that verifies.
    report = actions.verify_journal()
    if not report.ok:
        return f"purge refusée : journal altéré à la position {report.position}"
    return f"{prune().deleted} événements purgés"
