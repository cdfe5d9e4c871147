"""The checklist's daily jobs (run by hygie.worker): the server's diagnostic, which feeds the
matching items, and the score of the day, for the trend."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from hygie.checklist import actions, board
from hygie.lib import hostprobe
from hygie.worker.registry import job

DAY = timedelta(days=1)


@job("checklist-diagnostic", every=DAY, needs_keys=False)
def diagnose_server() -> str:
    report = hostprobe.run_all(key_path=settings.KEY_FILE, data_dir=settings.DATA_DIR)
    actions.record_diagnostic(report, actor_role="worker")
    todo = sum(1 for f in report.findings if f.status == hostprobe.TODO)
    return f"{todo} point(s) à corriger sur le serveur"


@job("checklist-score", every=DAY, needs_keys=False)
def record_score() -> str:
    state = board.evaluate()
    actions.record_score(score=state.score, counts=state.counts())
    reminders = len(state.due_training)
    return f"score {state.score}/100, {reminders} personne(s) à former"
