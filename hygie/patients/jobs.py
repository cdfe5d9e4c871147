"""Document store housekeeping, run by the worker (hygie.worker) once across every app server."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from hygie.patients import actions
from hygie.worker.registry import job


@job("documents-orphans", every=timedelta(hours=1), needs_keys=False)
def remove_orphan_documents() -> str:
    """Blobs no Document row names (uploads rolled back or killed before their commit), once
    older than HYGIE_DOCUMENT_ORPHAN_GRACE_HOURS; reads no content, so needs no key."""
    done = actions.remove_orphan_blobs(grace=timedelta(hours=settings.DOCUMENT_ORPHAN_GRACE_HOURS))
    return (
        f"{done['removed']} fichier(s) orphelin(s) supprimé(s) sur {done['scanned']}, "
        f"{done['unfinished']} envoi(s) inachevé(s) nettoyé(s)"
    )
