"""`hygie diagnostic [--json] [--record]`: the host's security checks (hygie.lib.hostprobe).

Without --record the `hygie` command runs the probes without Django at all (workstations: no
database, no key file needed), see hygie/cli.py. With --record, on the server, the result is
also kept and feeds the matching checklist items, dated.
"""

from __future__ import annotations

import json
from typing import Any

from hygie.checklist import actions
from hygie.core.management.base import HygieCommand
from hygie.lib import hostprobe

CLI_ROLE = "cli"


class Command(HygieCommand):
    help = "Diagnostic de sécurité de cette machine (--json ; --record sur le serveur : alimente la check-list)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="Sortie JSON.")
        parser.add_argument(
            "--record", action="store_true",
            help="Sur le serveur : enregistre le résultat, qui alimente les points de la check-list.",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        from django.conf import settings

        report = hostprobe.run_all(key_path=settings.KEY_FILE, data_dir=settings.DATA_DIR)
        if opts["record"]:
            actions.record_diagnostic(report, actor_role=CLI_ROLE)
        if opts["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(hostprobe.as_text(report).rstrip("\n"))
            if opts["record"]:
                self.stdout.write("Résultat enregistré : il alimente la check-list de sécurité.")
