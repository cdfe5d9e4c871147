"""Secure exchange jobs (docs/exchange.md)."""

from __future__ import annotations

from datetime import timedelta

from hygie.exchange import actions
from hygie.worker.registry import job


@job("exchange-outbox", every=timedelta(hours=1))
def exchange_outbox() -> str:
    # Archives made from a record wait HYGIE_EXCHANGE_OUTBOX_HOURS to be downloaded, then go.
    return f"{actions.purge_outbox()} archives expirées supprimées"
