"""`hygie retention …`: legal retention of patient records (docs/retention.md).

    hygie retention explain --birth D --last-visit D [--death D] [--hold-from D [--hold-to D]] [--json]
    hygie retention due --practitioner IDENTIFIANT [--json]
    hygie retention purge --practitioner IDENTIFIANT --yes [--json]

`due` and `purge` are for the operator at the machine: they act on behalf of one titulaire, and
the journal says so (role "cli", the titulaire as the account concerned).

Dates are AAAA-MM-JJ or JJ/MM/AAAA. Impossible dates are refused with a French message.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from hygie.core.management.base import HygieCommand
from hygie.lib import retention


def parse_day(value: str, flag: str) -> date:
    text = (value or "").strip()
    try:
        if "/" in text:
            day, month, year = (int(p) for p in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{flag} : date illisible ou impossible, attendu AAAA-MM-JJ ou JJ/MM/AAAA.") from None


class Command(HygieCommand):
    help = "Conservation légale des dossiers : expliquer une échéance."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        explain = sub.add_parser("explain", help="Calcule la date d'échéance d'un dossier et la règle appliquée.")
        explain.add_argument("--birth", required=True, help="Date de naissance.")
        explain.add_argument("--last-visit", required=True, help="Date de la dernière consultation.")
        explain.add_argument("--death", help="Date du décès.")
        explain.add_argument("--hold-from", help="Début d'une suspension (réclamation, recours).")
        explain.add_argument("--hold-to", help="Fin de la suspension ; sans elle, la suspension est en cours.")
        explain.add_argument("--json", action="store_true", help="Sortie JSON.")
        due = sub.add_parser("due", help="Liste les dossiers d'un titulaire arrivés au terme de leur conservation.")
        purge = sub.add_parser(
            "purge", help="Détruit définitivement (crypto-shredding) les dossiers échus d'un titulaire."
        )
        for each in (due, purge):
            each.add_argument("--practitioner", required=True, help="Identifiant du praticien titulaire.")
            each.add_argument("--json", action="store_true", help="Sortie JSON.")
            each.add_argument("--passphrase-file", help="Phrase de passe du fichier de clés (première ligne).")
            each.add_argument(
                "--passphrase-stdin", action="store_true", help="Lit la phrase de passe sur l'entrée standard."
            )
        purge.add_argument("--yes", action="store_true", help="Confirme la destruction (obligatoire).")

    def handle(self, *args: Any, **opts: Any) -> None:
        getattr(self, "_" + opts["action"].replace("-", "_"))(opts)

    def _ready(self, opts: dict[str, Any]) -> Any:
        """The practice, its keys and the titulaire on whose behalf the command acts."""
        from hygie.access.policy import Role
        from hygie.accounts.models import User
        from hygie.core import startup
        from hygie.core.actions import CLI_ROLE
        from hygie.keys import prompt, service

        if startup.existing_practice() is None:
            raise CommandError("Aucun cabinet dans ce répertoire de données : lancez d'abord « hygie init ».")
        try:
            startup.require_keys()
        except startup.StartupError as exc:
            raise CommandError(str(exc), returncode=2) from None
        if service.is_locked():
            prompt.unlock_or_fail(prompt.current_passphrases(opts), stderr=self.stderr, role=CLI_ROLE)
        username = (opts["practitioner"] or "").strip()
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            raise CommandError(f"Aucun compte « {username} ». Indiquez l'identifiant d'un praticien titulaire.")
        if user.role != Role.TITULAIRE or not user.is_active:
            raise CommandError(f"« {user.username} » n'est pas un praticien titulaire actif.")
        return user

    def _due(self, opts: dict[str, Any]) -> None:
        from hygie.audit import journal
        from hygie.audit.events import Ev
        from hygie.core.actions import CLI_ROLE
        from hygie.retention import actions

        practitioner = self._ready(opts)
        found = actions.due(practitioner)
        journal.record(
            Ev.RETENTION_DUE,
            actor=practitioner,
            actor_role=CLI_ROLE,
            target=practitioner,
            details={"via": "cli", "practitioner": practitioner.pk, "due": len(found)},
        )
        rows = [
            {"patient": d.patient.code, "expired_on": d.expired_on.isoformat(), "rule": d.decision.rule} for d in found
        ]
        if opts["json"]:
            self.stdout.write(json.dumps({"due": rows}))
            return
        if not rows:
            self.stdout.write("Aucun dossier arrivé au terme de sa conservation.")
        for row in rows:
            self.stdout.write(f"{row['patient']}  échu le {row['expired_on']}  ({row['rule']})")

    def _purge(self, opts: dict[str, Any]) -> None:
        from hygie.retention import actions

        if not opts["yes"]:
            raise CommandError(
                "La destruction est définitive : relancez avec --yes pour la confirmer "
                "(« hygie retention due » liste d'abord les dossiers concernés)."
            )
        practitioner = self._ready(opts)
        try:
            done = actions.purge(actor=practitioner, practitioner=practitioner, via="cli")
        except actions.ActionError as exc:
            raise CommandError(str(exc)) from None
        if opts["json"]:
            self.stdout.write(json.dumps({"purged": len(done), "records": done}))
            return
        self.stdout.write(f"{len(done)} dossier{'s' if len(done) > 1 else ''} détruit{'s' if len(done) > 1 else ''}.")

    def _explain(self, opts: dict[str, Any]) -> None:
        if opts["hold_to"] and not opts["hold_from"]:
            raise CommandError("--hold-to demande --hold-from (le début de la suspension).")
        holds = []
        if opts["hold_from"]:
            end = parse_day(opts["hold_to"], "--hold-to") if opts["hold_to"] else None
            holds.append(retention.Hold(parse_day(opts["hold_from"], "--hold-from"), end))
        try:
            decision = retention.expiry(
                birth=parse_day(opts["birth"], "--birth"),
                last_visit=parse_day(opts["last_visit"], "--last-visit"),
                death=parse_day(opts["death"], "--death") if opts["death"] else None,
                holds=holds,
                today=timezone.localdate(),
            )
        except retention.RetentionInputError as exc:
            raise CommandError(str(exc)) from None
        if opts["json"]:
            self.stdout.write(json.dumps(decision.as_dict(), ensure_ascii=False))
        else:
            self.stdout.write(decision.explanation)
