"""`hygie retention …`: legal retention of patient records (docs/retention.md).

    hygie retention explain --birth D --last-visit D [--death D] [--hold-from D [--hold-to D]] [--json]

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

    def handle(self, *args: Any, **opts: Any) -> None:
        getattr(self, "_" + opts["action"].replace("-", "_"))(opts)

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
