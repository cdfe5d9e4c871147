"""Pro Santé Connect jobs: forget refused professionals after 30 days."""

from __future__ import annotations

from datetime import timedelta

from hygie.psc import actions
from hygie.worker.registry import job


@job("psc-unknown-attempts", every=timedelta(days=1))
def psc_unknown_attempts() -> str:
    return f"{actions.purge_unknown_attempts()} tentatives Pro Santé Connect oubliées"
