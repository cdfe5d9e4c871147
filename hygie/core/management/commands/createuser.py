"""`hygie createuser`: a named account, whose owner changes the password at first login."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from hygie.access.policy import Role
from hygie.accounts.actions import ActionError, create_user
from hygie.accounts.models import User
from hygie.core import startup
from hygie.core.management.base import HygieCommand, validation_message

PASSWORD_ENV = "HYGIE_NEW_PASSWORD"  # noqa: S105 (the name of a variable, not a password)


class Command(HygieCommand):
    help = "Crée un compte nominatif."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", required=True, help="Identifiant de connexion.")
        parser.add_argument("--role", required=True, help=f"Rôle : {', '.join(Role.values)}.")
        parser.add_argument("--first-name", default="", help="Prénom.")
        parser.add_argument("--last-name", default="", help="Nom.")
        parser.add_argument("--email", default="", help="Adresse e-mail.")
        parser.add_argument("--profession", default="", help="Profession (ex. : médecin généraliste).")
        parser.add_argument(
            "--assists",
            default="",
            help="Secrétaire ou facturation : identifiants des titulaires pour qui la personne travaille, "
            "séparés par des virgules.",
        )
        parser.add_argument(
            "--password-file",
            help=f"Fichier dont la première ligne est le mot de passe provisoire (sinon {PASSWORD_ENV}).",
        )
        parser.add_argument("--no-input", action="store_false", dest="interactive", help="Ne rien demander (scripts).")

    def handle(self, *args: Any, **opts: Any) -> None:
        if startup.existing_practice() is None:
            raise CommandError("Aucun cabinet dans ce répertoire de données : lancez d'abord « hygie init ».")
        username = opts["username"].strip()
        role = opts["role"].strip().lower()
        if role not in Role.values:
            raise CommandError(f"Rôle inconnu : « {role} ». Rôles possibles : {', '.join(Role.values)}.")
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError(f"L'identifiant « {username} » est déjà pris.")
        assists = self._assists(opts["assists"], role)
        password = self.read_password(
            path=opts["password_file"],
            env_name=PASSWORD_ENV,
            interactive=opts["interactive"],
            prompt=f"Mot de passe provisoire de {username} : ",
        )
        try:
            user = create_user(
                actor=None,
                username=username,
                role=role,
                password=password,
                first_name=opts["first_name"],
                last_name=opts["last_name"],
                email=opts["email"],
                profession=opts["profession"],
                assists=assists,
                must_change_password=True,
            )
        except ActionError as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Compte « {user.username} » créé (rôle : {user.get_role_display()})."))
        self.stdout.write(
            "À la première connexion, la personne choisit son propre mot de passe et enregistre son second facteur."
        )
        if role == Role.REMPLACANT:
            self.stdout.write(
                "Un remplaçant ne peut se connecter que pendant un remplacement : déclarez-le dans la page "
                "« Utilisateurs »."
            )

    def _assists(self, raw: str, role: str) -> list[User]:
        names = [n.strip() for n in raw.split(",") if n.strip()]
        if not names:
            return []
        if role not in (Role.SECRETAIRE, Role.FACTURATION):
            raise CommandError("--assists ne concerne que les rôles secretaire et facturation.")
        found = []
        for name in names:
            user = User.objects.filter(username__iexact=name).first()
            if user is None:
                raise CommandError(f"Aucun compte « {name} » (option --assists).")
            if user.role != Role.TITULAIRE or not user.is_active:
                raise CommandError(f"« {name} » n'est pas un praticien titulaire actif (option --assists).")
            found.append(user)
        return found
