"""`hygie init`: the key file, the database, the practice and its first administrator."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from hygie.access.policy import Role
from hygie.accounts.actions import ActionError
from hygie.accounts.models import User
from hygie.core import startup
from hygie.core.actions import create_practice
from hygie.core.management.base import HygieCommand, validation_message

PASSWORD_ENV = "HYGIE_ADMIN_PASSWORD"  # noqa: S105 (the name of a variable, not a password)


class Command(HygieCommand):
    help = "Crée le fichier de clés, la base, le cabinet et son premier compte administrateur."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--practice-name", help="Nom du cabinet.")
        parser.add_argument("--admin-username", help="Identifiant de l'administrateur.")
        parser.add_argument("--admin-first-name", help="Prénom de l'administrateur.")
        parser.add_argument("--admin-last-name", help="Nom de l'administrateur.")
        parser.add_argument("--admin-email", default="", help="Adresse e-mail de l'administrateur.")
        parser.add_argument(
            "--admin-password-file",
            help=f"Fichier dont la première ligne est le mot de passe (sinon la variable {PASSWORD_ENV}).",
        )
        parser.add_argument("--no-input", action="store_false", dest="interactive", help="Ne rien demander (scripts).")

    def handle(self, *args: Any, **opts: Any) -> None:
        interactive = opts["interactive"]
        practice = startup.existing_practice()
        if practice is not None:
            kind = "le cabinet de démonstration" if practice.is_demo else "un cabinet"
            raise CommandError(
                f"Ce répertoire de données contient déjà {kind}. Rien n'a été modifié.\n"
                "Pour un nouveau cabinet, choisissez un autre répertoire avec HYGIE_DATA_DIR."
            )

        # Everything is asked and checked before anything is written.
        name = self._ask(opts["practice_name"], "Nom du cabinet : ", interactive, "--practice-name")
        username = self._ask(
            opts["admin_username"], "Identifiant de l'administrateur : ", interactive, "--admin-username"
        )
        if self._db_ready() and User.objects.filter(username__iexact=username).exists():
            raise CommandError(f"L'identifiant « {username} » est déjà pris.")
        first_name = self._ask(opts["admin_first_name"], "Prénom : ", interactive, None)
        last_name = self._ask(opts["admin_last_name"], "Nom : ", interactive, None)
        password = self._password(opts, interactive, username, first_name, last_name)

        created = startup.ensure_keys()
        if created:
            self.stdout.write(f"Fichier de clés créé : {self._key_file()}")
            self.stdout.write("  Gardez-en une copie à part (clé USB chiffrée rangée au coffre).")
        else:
            self.stdout.write(f"Fichier de clés existant utilisé : {self._key_file()}")
        self.stdout.write("Préparation de la base de données…")
        startup.prepare_database()
        try:
            practice, admin = create_practice(
                name=name,
                admin_username=username,
                admin_password=password,
                admin_first_name=first_name,
                admin_last_name=last_name,
                admin_email=opts["admin_email"],
            )
        except ActionError as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None

        self.stdout.write(self.style.SUCCESS(f"Cabinet « {practice.name} » créé, administrateur : {admin.username}."))
        self.stdout.write(
            "Étapes suivantes :\n"
            "  1. Démarrez Hygie : hygie serve\n"
            "  2. Connectez-vous sur http://127.0.0.1:8000 avec ce compte.\n"
            "  3. Enregistrez votre second facteur (application TOTP ou clé de sécurité) : il est demandé\n"
            "     à la première connexion.\n"
            "  4. Créez un compte nominatif par personne : page « Utilisateurs » ou hygie createuser."
        )

    def _ask(self, value: str | None, prompt: str, interactive: bool, flag: str | None) -> str:
        if value is not None and value.strip():
            return value.strip()
        if not interactive:
            if flag is None:
                return ""
            raise CommandError(f"Indiquez {flag} (ou lancez la commande sans --no-input).")
        while True:
            answer = input(prompt).strip()
            if answer or flag is None:
                return answer
            self.stderr.write("Ce champ est obligatoire.")

    def _password(self, opts: dict[str, Any], interactive: bool, username: str, first: str, last: str) -> str:
        candidate = User(username=username, first_name=first, last_name=last, role=Role.ADMIN)
        for _ in range(3):
            password = self.read_password(
                path=opts["admin_password_file"],
                env_name=PASSWORD_ENV,
                interactive=interactive,
                prompt="Mot de passe de l'administrateur : ",
            )
            try:
                validate_password(password, candidate)
            except ValidationError as exc:
                if not interactive or opts["admin_password_file"] or os.environ.get(PASSWORD_ENV):
                    raise CommandError(validation_message(exc)) from None
                self.stderr.write(validation_message(exc))
                continue
            return password
        raise CommandError("Mot de passe refusé trois fois. Rien n'a été modifié.")

    @staticmethod
    def _db_ready() -> bool:
        from django.db import connection

        return User._meta.db_table in connection.introspection.table_names()

    @staticmethod
    def _key_file() -> str:
        from django.conf import settings

        return str(settings.KEY_FILE)
