"""`hygie worker`: run the periodic jobs (journal checkpoints, alerts, retention, …)."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from hygie.core.management.base import HygieCommand
from hygie.worker import runner
from hygie.worker.models import Job
from hygie.worker.registry import jobs


class Command(HygieCommand):
    help = "Exécute les tâches de fond (points de contrôle du journal, alertes, rétention…)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Exécute une fois les tâches dues puis s'arrête (cron, tests)."
        )
        parser.add_argument("--list", action="store_true", help="Affiche les tâches et leur dernier passage.")
        parser.add_argument(
            "--unlock",
            action="store_true",
            help="Mode phrase de passe : demande la phrase de passe du fichier de clés (sans elle, les tâches "
            "qui ont besoin des clés attendent).",
        )
        parser.add_argument(
            "--passphrase-stdin",
            action="store_true",
            help="Avec --unlock : lit la phrase de passe sur l'entrée standard au lieu du terminal.",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["list"]:
            self._list()
            return
        self._unlock(opts)
        if opts["once"]:
            results = runner.run_due()
            for r in results:
                self.stdout.write(f"{r.name} : {'ok' if r.ok else 'ÉCHEC'} {r.result or r.error}".rstrip())
            if not results:
                self.stdout.write("Aucune tâche due.")
            failed = [r.name for r in results if not r.ok]
            if failed:
                raise CommandError(f"Tâches en échec : {', '.join(failed)} (voir le journal technique).")
            return
        worker = runner.Worker()
        # Ctrl+C or a service manager's stop: finish the job under way, then leave.
        runner.stop_on(worker, signal.SIGINT, signal.SIGTERM)
        self.stdout.write(f"Tâches de fond démarrées ({len(jobs())} tâches). Ctrl+C pour arrêter.")
        self.stdout.flush()
        worker.run_forever()
        self.stdout.write("Tâches de fond arrêtées.")

    def _unlock(self, opts: dict[str, Any]) -> None:
        from hygie.core.actions import CLI_ROLE
        from hygie.keys import prompt, service

        if not service.is_locked():
            return
        if opts["unlock"] or opts["passphrase_stdin"]:
            prompt.unlock_or_fail(prompt.current_passphrases(opts), stderr=self.stderr, role=CLI_ROLE)
            return
        self.stderr.write(
            "Fichier de clés protégé par une phrase de passe et processus verrouillé : les tâches qui ont besoin "
            "des clés sont ignorées (relancez avec « hygie worker --unlock »)."
        )

    def _list(self) -> None:
        rows = {j.name: j for j in Job.objects.all()}
        for name, spec in sorted(jobs().items()):
            job = rows.get(name)
            every = int(spec.interval().total_seconds() // 60)
            if job is None or job.last_started_at is None:
                last = "jamais exécutée"
            else:
                at = timezone.localtime(job.last_started_at).strftime("%d/%m/%Y %H:%M")
                last = f"dernier passage {at} : {job.last_status or 'en cours'} {job.last_result or job.last_error}"
            self.stdout.write(f"{name} (toutes les {every} min) — {last.rstrip()}")
