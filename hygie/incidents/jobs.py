"""Incident jobs: the 72-hour clock of open breaches (warnings at 24 h and 48 h journaled, an
alert when it is over). Every five minutes: a stage is journaled once."""

from __future__ import annotations

from datetime import timedelta

from hygie.incidents import actions
from hygie.worker.registry import job


@job("incident-deadlines", every=timedelta(minutes=5))
def incident_deadlines() -> str:
    return f"{actions.check_deadlines()} échéance(s) signalée(s)"
