"""What Hygie's commands share: French errors without a Python class name, secret input."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class HygieCommand(BaseCommand):
    def execute(self, *args: Any, **options: Any) -> Any:
        # From the shell, "Erreur : …" reads better than Django's "CommandError: …".
        # Through call_command (tests, other commands) the exception is raised as usual.
        if not self._called_from_command_line or options.get("traceback"):
            return super().execute(*args, **options)
        try:
            return super().execute(*args, **options)
        except CommandError as exc:
            self.stderr.write(f"Erreur : {exc}")
            sys.exit(exc.returncode)

    def read_password(
        self,
        *,
        path: str | None,
        env_name: str,
        interactive: bool,
        prompt: str = "Mot de passe : ",
    ) -> str:
        """From a file (first line), else the environment, else typed twice without echo."""
        if path:
            try:
                lines = Path(path).read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                raise CommandError(f"Fichier de mot de passe introuvable : {path}") from None
            except (OSError, UnicodeDecodeError):
                raise CommandError(f"Fichier de mot de passe illisible : {path}") from None
            if not lines or not lines[0]:
                raise CommandError(f"Le fichier de mot de passe est vide : {path}")
            return lines[0]
        from_env = os.environ.get(env_name)
        if from_env:
            return from_env
        if not interactive:
            raise CommandError(
                f"Mot de passe manquant : indiquez --password-file ou la variable {env_name}, "
                "ou lancez la commande sans --no-input pour le saisir."
            )
        for _ in range(3):
            first = getpass.getpass(prompt)
            if not first:
                self.stderr.write("Le mot de passe ne peut pas être vide.")
                continue
            if getpass.getpass("Confirmez le mot de passe : ") != first:
                self.stderr.write("Les deux saisies diffèrent, recommencez.")
                continue
            return first
        raise CommandError("Mot de passe non saisi. Rien n'a été modifié.")


def validation_message(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)
