"""`hygie demo`: the demonstration practice and its logins. Running it again changes nothing."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError

from hygie.access.policy import Role
from hygie.core import demo, startup
from hygie.core.management.base import HygieCommand


class Command(HygieCommand):
    help = "Crée le cabinet de démonstration (données fictives) et affiche ses comptes."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--patients", type=int, default=40, help="Nombre de patients fictifs (défaut : 40).")
        parser.add_argument(
            "--json", action="store_true", help="Seulement la liste des comptes, en JSON, sur la sortie standard."
        )
        parser.add_argument(
            "--skip-if-real",
            action="store_true",
            help="Si un vrai cabinet existe, ne rien faire et terminer sans erreur (make run).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        as_json = opts["json"]
        # With --json, stdout carries the JSON only: every message goes to stderr.
        say = self.stderr.write if as_json else self.stdout.write
        if not 0 <= opts["patients"] <= 2000:
            raise CommandError("--patients doit être compris entre 0 et 2000.")

        practice = startup.existing_practice()
        if practice is not None and not practice.is_demo:
            if opts["skip_if_real"]:
                say(f"Un vrai cabinet (« {practice.name} ») occupe ce répertoire de données : pas de démonstration.")
                return
            raise CommandError(
                "Ce répertoire de données contient un vrai cabinet : la démonstration n'y est pas créée. "
                "Rien n'a été modifié.\nPour essayer Hygie, choisissez un autre répertoire avec HYGIE_DATA_DIR.",
                returncode=2,
            )

        if startup.ensure_keys():
            self.stderr.write("Fichier de clés créé pour la démonstration.")
        startup.prepare_database()
        try:
            created = demo.ensure_demo(opts["patients"])
        except demo.RealPracticeError:
            raise CommandError("Ce répertoire de données contient un vrai cabinet.", returncode=2) from None
        logins = demo.logins()

        if as_json:
            payload = [
                {"username": x.username, "password": x.password, "role": x.role, "totp_secret": x.totp_secret}
                for x in logins
            ]
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        say(
            f"Cabinet de démonstration « {demo.PRACTICE_NAME} » "
            + ("créé." if created else "déjà en place (rien n'a été modifié).")
        )
        say("Toutes les données sont fictives. N'y saisissez jamais de vrai patient.")
        say("")
        say(self._table(logins))
        say(
            "\nAjoutez le secret TOTP à une application d'authentification, ou calculez le code avec :\n"
            "  oathtool --totp -b SECRET\n"
            "Le code affiché change toutes les 30 secondes."
        )

    @staticmethod
    def _table(logins: list[demo.Login]) -> str:
        labels = dict(Role.choices)
        header = ("identifiant", "rôle", "mot de passe", "secret TOTP", "code actuel")
        rows = [
            (x.username, str(labels.get(x.role, x.role)), x.password, x.totp_secret, x.current_code()) for x in logins
        ]
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in (header, *rows)
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)
