"""`hygie audit verify | checkpoint | prune | alerts`: the journal's tamper evidence, retention
and anomaly alerts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from hygie.audit import alerts, checkpoint, conf
from hygie.audit.prune import prune
from hygie.audit.verify import verify
from hygie.core.management.base import HygieCommand
from hygie.lib.env import ConfigError

# Exit codes: 0 intact, 1 journal altered, 2 could not run (configuration).
ALTERED = 1
UNUSABLE = 2


class Command(HygieCommand):
    help = "Vérifie, signe ou purge le journal des accès."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{verify,checkpoint,prune,alerts}")
        sub.add_parser("verify", help="Vérifie tout le journal contre sa chaîne et ses points de contrôle signés.")
        sub.add_parser("checkpoint", help="Signe maintenant la fin du journal (point de contrôle).")
        sub.add_parser(
            "prune", help="Supprime les événements plus anciens que la durée de conservation, après vérification."
        )
        sub.add_parser("alerts", help="Cherche maintenant les anomalies dans les nouveaux événements du journal.")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['subcommand']}")()
        except ConfigError as exc:
            raise CommandError(str(exc), returncode=UNUSABLE) from None

    def _verify(self) -> None:
        report = verify()
        for note in report.notes:
            self.stdout.write(note)
        if not report.ok:
            raise CommandError(report.summary(), returncode=ALTERED)
        self.stdout.write(report.summary())

    def _checkpoint(self) -> None:
        made = checkpoint.make_checkpoint()
        if made is None:
            self.stdout.write("Rien de nouveau à signer : le dernier point de contrôle couvre tout le journal.")
            return
        self.stdout.write(
            f"Point de contrôle signé à la position {made.seq}, ajouté à {conf.checkpoint_file()}."
        )

    def _prune(self) -> None:
        # Never delete evidence of tampering: the journal must verify before it is pruned.
        report = verify()
        if not report.ok:
            raise CommandError(
                f"{report.summary()} Purge refusée : le journal doit d'abord être examiné.", returncode=ALTERED
            )
        result = prune()
        if result.deleted == 0:
            self.stdout.write(
                f"Rien à purger : aucun point de contrôle antérieur au {result.cutoff:%d/%m/%Y} "
                f"({conf.retention_days()} jours de conservation)."
            )
            return
        self.stdout.write(
            f"{result.deleted} événements antérieurs au {result.cutoff:%d/%m/%Y} supprimés ; "
            f"le journal se vérifie désormais à partir de la position {result.anchor_seq}."
        )

    def _alerts(self) -> None:
        new = alerts.scan()
        pending = alerts.open_alerts().count()
        self.stdout.write(f"{len(new)} nouvelle(s) alerte(s) ; {pending} à examiner au total.")
        for alert in new:
            self.stdout.write(f"- {alert.get_kind_display()} ({alert.details.get('events', 0)} événements)")
