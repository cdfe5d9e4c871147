"""The `hygie` command: a few French words in front of Django's management commands.

    hygie init | serve | worker | demo | createuser | audit … | keys … | backup … | retention … | incident …
    hygie patients import FICHIER.csv
Any other word goes to Django as is (migrate, check, …).
"""

from __future__ import annotations

import os
import sys

HELP = """\
Hygie — coffre-fort des données patients

Utilisation : hygie COMMANDE [options]

  init                  Crée le fichier de clés, la base, le cabinet et le premier administrateur.
  serve                 Démarre le serveur (127.0.0.1:8000 par défaut) et ses tâches de fond
                        (--no-worker : sans les tâches de fond).
  worker                Exécute les tâches de fond seules (--once : une fois, pour cron).
  demo                  Crée le cabinet de démonstration (données fictives) et affiche ses comptes.
  createuser            Crée un compte nominatif (--username, --role).
  patients import FICHIER.csv --practitioner IDENTIFIANT [--dry-run] [--json]
                        Importe des patients depuis un fichier CSV (docs/import-format.md).
  audit verify | checkpoint | prune | alerts
                        Vérifie, signe ou purge le journal des accès ; cherche les anomalies.
  keys status | rotate | recovery-kit | recover | reapply-erasures | protect | unprotect
                        Clés de chiffrement : état, renouvellement, kit de récupération,
                        phrase de passe (serve --unlock pour déverrouiller au démarrage).
  backup run --to DOSSIER | verify CHEMIN | restore CHEMIN --to REPERTOIRE
                        Sauvegardes chiffrées (format age) : sauvegarder, vérifier, restaurer.
  checklist [--json]    Check-list de sécurité du cabinet : score, points faits et à faire.
  diagnostic [--json] [--record]
                        Diagnostic de sécurité de cette machine (chiffrement du disque, mises à
                        jour, pare-feu…) ; sur chaque poste, sans base de données. --record, sur
                        le serveur : le résultat alimente la check-list.
  retention explain | due | purge
                        Conservation légale des dossiers : échéance d'un dossier, dossiers à
                        détruire, destruction au nom d'un titulaire (docs/retention.md).
  incident lockdown | allow | lift | status | breach open | evidence | fiche
                        Incidents : isoler Hygie et lever l'isolement, ouvrir une violation
                        (délai de 72 heures), preuves, fiche réflexe (docs/incidents.md).
  rights export --patient P-… --format fhir|pdf --out FICHIER
                        Droits des patients : la copie d'un dossier qui répond à une demande
                        enregistrée, hors du répertoire de données (docs/rights.md).
  gdpr register --format json|csv|pdf --out FICHIER | pack --out FICHIER.zip
                        Registre RGPD des traitements, dossier « contrôle CNIL » (docs/compliance.md).
  exchange archive | wrap | receive
                        Échange sécurisé : archive 7z chiffrée (AES-256) d'un dossier ou d'un
                        export, classement d'une archive reçue (docs/exchange.md).

Les autres commandes sont celles de Django (migrate, check…).
« hygie COMMANDE --help » détaille les options d'une commande.
"""

# Hygie's words for its management commands (hygie/core/management/commands).
COMMANDS = {
    "init": "init",
    "serve": "serve",
    "worker": "worker",
    "demo": "demo",
    "createuser": "createuser",
    "audit": "audit",
    "keys": "keys",
    "backup": "backup",
    "checklist": "checklist",
    "diagnostic": "diagnostic",
    "retention": "retention",
    "incident": "incident",
    "rights": "rights",
    "gdpr": "gdpr",
    "exchange": "exchange",
}
SUBCOMMANDS = {("patients", "import"): "import_patients"}
# Django commands that would change an account behind the approvals (hygie.approvals): a password
# set from the command line would open a titulaire's records without the titulaire knowing.
REFUSED = {
    "changepassword": "un mot de passe se redéfinit depuis la page « Utilisateurs » "
    "(le titulaire concerné l'approuve) ou par son titulaire dans « Mon compte »",
    "createsuperuser": "créez un compte nominatif avec « hygie createuser »",
}


def _route(argv: list[str]) -> list[str] | None:
    """The Django command line for `argv`, or None if it is Hygie's own help."""
    if not argv or argv[0] in ("-h", "--help", "help", "aide"):
        return None
    word = argv[0]
    if word in REFUSED:
        raise UsageError(f"« hygie {word} » n'est pas disponible : {REFUSED[word]}.")
    if word in COMMANDS:
        return [COMMANDS[word], *argv[1:]]
    groups = {group for group, _ in SUBCOMMANDS}
    if word in groups:
        if len(argv) < 2 or (word, argv[1]) not in SUBCOMMANDS:
            verbs = ", ".join(verb for group, verb in SUBCOMMANDS if group == word)
            raise UsageError(
                f"Sous-commande attendue après « {word} » : {verbs}. Exemple : hygie {word} import FICHIER.csv"
            )
        return [SUBCOMMANDS[(word, argv[1])], *argv[2:]]
    return argv


class UsageError(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hygie.settings")
    from hygie.lib.env import ConfigError
    from hygie.lib.keyfile import KeyFileError

    try:
        if argv[:1] == ["diagnostic"] and "--record" not in argv and not ({"-h", "--help"} & set(argv)):
            # On a workstation: no Django, no database, no key file needed.
            from hygie.lib import hostprobe

            return hostprobe.main(argv[1:])
        routed = _route(argv)
        if routed is None:
            sys.stdout.write(HELP)
            return 0
        import django
        from django.core.management import execute_from_command_line, get_commands

        django.setup()
        if not routed[0].startswith("-") and routed[0] not in get_commands():
            raise UsageError(f"Commande inconnue : « {routed[0]} ». « hygie --help » liste les commandes.")
        execute_from_command_line(["hygie", *routed])
    except UsageError as exc:
        print(f"hygie : {exc}", file=sys.stderr)
        return 2
    except (ConfigError, KeyFileError) as exc:
        # A setting or the key file is wrong: the message says which and how to fix it.
        print(f"hygie : {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # Output piped into `head` or similar, which stopped reading: not an error to report.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("\nInterrompu.", file=sys.stderr)
        return 130
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
