"""`hygie checklist [--json]`: where the practice stands, from the server's shell."""

from __future__ import annotations

import json
from typing import Any

from hygie.checklist import board
from hygie.core.management.base import HygieCommand

WORDS = {"ok": "fait", "todo": "À FAIRE", "unknown": "non vérifié"}


class Command(HygieCommand):
    help = "Affiche la check-list de sécurité du cabinet (--json : pour un script)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="Sortie JSON : score, items (id, label, source, "
            "status, computed…).")

    def handle(self, *args: Any, **opts: Any) -> None:
        state = board.evaluate()
        if opts["json"]:
            self.stdout.write(json.dumps(state.as_json(), ensure_ascii=False, indent=2))
            return
        counts = state.counts()
        self.stdout.write(
            f"Score de sécurité : {state.score}/100 ({counts['ok']} faits, {counts['todo']} à faire, "
            f"{counts['unknown']} non vérifiés)."
        )
        for section, rows in state.by_section():
            self.stdout.write(f"\n{section.title}")
            for row in rows:
                origin = "calculé" if row.computed else "déclaré"
                self.stdout.write(f"  [{WORDS[row.status]:<11}] {row.item.label} ({origin}) — {row.detail}")
        if state.next_steps:
            self.stdout.write("\nÀ faire ensuite :")
            for n, row in enumerate(state.next_steps[:5], 1):
                self.stdout.write(f"  {n}. {row.item.label} : {row.item.todo}")
