"""`hygie keys …`: the encryption keys of the practice (docs/encryption.md).

    hygie keys status
    hygie keys rotate [--batch-size N]
    hygie keys recovery-kit --format pdf|txt --out FICHIER
    hygie keys recover [--kit FICHIER]
    hygie keys reapply-erasures
    hygie keys protect [--passphrase-file F] [--current-passphrase-file F]
    hygie keys unprotect [--passphrase-file F]

With a key file protected by a passphrase, every action asks it first (or reads it from
--passphrase-file, or from standard input with --passphrase-stdin).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.core.actions import CLI_ROLE
from hygie.core.management.base import HygieCommand
from hygie.keys import kit, prompt, rotation, service
from hygie.keys.models import PatientKey
from hygie.lib import keyfile, recoverykit


class Command(HygieCommand):
    help = "Clés de chiffrement : état, rotation, kit de récupération, restauration."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser("status", help="Affiche les clés maîtresses et l'état des clés des patients.")
        rotate = sub.add_parser("rotate", help="Nouvelle clé maîtresse ; toutes les clés des patients ré-emballées.")
        rotate.add_argument("--batch-size", type=int, default=500, help="Clés par transaction (défaut : 500).")
        rotate.add_argument("--grace-seconds", type=float, default=2.0, help=argparse.SUPPRESS)
        kit_parser = sub.add_parser("recovery-kit", help="Écrit le kit de récupération à imprimer.")
        kit_parser.add_argument("--format", choices=["pdf", "txt"], default="pdf")
        kit_parser.add_argument("--out", required=True, help="Fichier à écrire (il ne doit pas exister).")
        recover = sub.add_parser("recover", help="Reconstitue le fichier de clés perdu à partir du kit.")
        recover.add_argument("--kit", help="Kit (texte ou PDF) ; sans lui, le code est demandé ligne par ligne.")
        reapply = sub.add_parser(
            "reapply-erasures", help="Après une restauration : efface à nouveau les patients effacés."
        )
        protect = sub.add_parser(
            "protect",
            help="Mode phrase de passe : protège le fichier de clés par une phrase de passe (ou la change).",
        )
        protect.add_argument(
            "--current-passphrase-file",
            help="Phrase de passe actuelle (première ligne), si le fichier est déjà protégé.",
        )
        unprotect = sub.add_parser(
            "unprotect", help="Retire la phrase de passe : les clés reviennent en clair dans le fichier (0600)."
        )
        for each in (sub.choices["status"], rotate, kit_parser, reapply, protect, unprotect):
            each.add_argument(
                "--passphrase-file",
                help="Fichier dont la première ligne est la phrase de passe (pour « protect » : la nouvelle).",
            )
            each.add_argument(
                "--passphrase-stdin",
                action="store_true",
                help="Lit la phrase de passe sur l'entrée standard au lieu du terminal.",
            )

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"].replace("-", "_")
        getattr(self, f"do_{action}")(**opts)

    def _material(
        self, opts: dict[str, Any] | None = None, file_option: str = "passphrase_file"
    ) -> keyfile.KeyMaterial:
        """The keys; with a protected key file, the passphrase is asked first."""
        try:
            return service.material()
        except service.KeysLocked:
            prompt.unlock_or_fail(
                prompt.current_passphrases(opts or {}, file_option), stderr=self.stderr, role=CLI_ROLE
            )
            return service.material()
        except service.KeysUnavailable as exc:
            raise CommandError(str(exc)) from None

    def _key_file(self) -> Path:
        return Path(settings.KEY_FILE).expanduser()

    def _header(self) -> keyfile.Header:
        try:
            return service.header()
        except service.KeysUnavailable as exc:
            raise CommandError(str(exc)) from None

    def do_protect(self, **opts: Any) -> None:
        was_protected = self._header().protected
        material = self._material(opts, "current_passphrase_file")
        passphrase = prompt.new_passphrase(opts, self.stderr)
        protection = keyfile.Protection.derive(passphrase)
        keyfile.write(self._key_file(), replace(material, protection=protection))
        service.reset()
        with transaction.atomic():
            journal.record(
                Ev.KEYS_PROTECTED,
                actor_role=CLI_ROLE,
                details={"changed": was_protected, "kdf": "scrypt", "n": protection.n, "r": protection.r},
            )
        self.stdout.write(
            ("Phrase de passe changée" if was_protected else "Fichier de clés protégé par une phrase de passe")
            + f" : {self._key_file()}"
        )
        self.stdout.write(
            "Hygie démarre désormais verrouillé : « hygie serve --unlock », ou la page de déverrouillage. "
            "Phrase de passe oubliée : seul le kit de récupération rouvre les données (hygie keys recover)."
        )
        if not was_protected:
            self.stdout.write(
                "Les copies de l'ancien fichier de clés (sauvegardes, autres disques) contiennent les clés en clair : "
                "détruisez-les."
            )

    def do_unprotect(self, **opts: Any) -> None:
        if not self._header().protected:
            raise CommandError("Le fichier de clés n'est pas protégé par une phrase de passe.")
        material = self._material(opts)
        keyfile.write(self._key_file(), replace(material, protection=None))
        service.reset()
        with transaction.atomic():
            journal.record(Ev.KEYS_UNPROTECTED, actor_role=CLI_ROLE, details={})
        self.stdout.write(f"Phrase de passe retirée : les clés sont en clair dans {self._key_file()} (0600).")

    def do_status(self, **opts: Any) -> None:
        material = self._material(opts)
        counts: dict[str, int] = {}
        for kid in PatientKey.objects.values_list("kek_id", flat=True):
            counts[kid] = counts.get(kid, 0) + 1
        self.stdout.write(f"Fichier de clés : {settings.KEY_FILE}")
        if self._header().protected:
            self.stdout.write("Protégé par une phrase de passe (mode phrase de passe).")
        for kid in material.keks:
            mark = " (principale)" if kid == material.primary_kek else ""
            self.stdout.write(f"Clé maîtresse {kid}{mark} : {counts.pop(kid, 0)} clé(s) patient")
        for kid, n in counts.items():
            self.stdout.write(f"ATTENTION : {n} clé(s) patient emballée(s) par {kid}, absente du fichier de clés.")

    def do_rotate(self, **opts: Any) -> None:
        self._material(opts)
        report = rotation.rotate(
            batch_size=max(1, opts["batch_size"]),
            grace_seconds=max(0.0, opts["grace_seconds"]),
            progress=lambda n: self.stdout.write(f"  {n} clé(s) ré-emballée(s)…"),
        )
        self.stdout.write(
            f"Nouvelle clé maîtresse {report.new_kek} ; {report.rewrapped} clé(s) patient ré-emballée(s) ; "
            f"ancienne clé {report.old_kek} retirée du fichier de clés."
        )
        self.stdout.write(
            "Le kit de récupération imprimé avant cette rotation ne vaut plus : générez-en un nouveau "
            "(hygie keys recovery-kit) et détruisez l'ancien."
        )

    def do_recovery_kit(self, **opts: Any) -> None:
        from hygie.practices.models import Practice

        material = self._material(opts)
        out = Path(opts["out"])
        practice = Practice.current()
        name = practice.name if practice else "—"
        now = timezone.now()
        data = kit.as_pdf(material, name, now) if opts["format"] == "pdf" else kit.as_text(material, name, now).encode()
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CommandError(f"Le fichier existe déjà : {out}") from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        with transaction.atomic():
            journal.record(
                Ev.RECOVERY_KIT_GENERATED,
                actor_role=CLI_ROLE,
                details={"format": opts["format"], "kek": material.primary_kek},
            )
        self.stdout.write(f"Kit de récupération écrit : {out}")
        self.stdout.write("Imprimez-le, rangez-le au coffre, puis supprimez ce fichier.")

    def do_recover(self, **opts: Any) -> None:
        path = Path(settings.KEY_FILE).expanduser()
        if path.exists():
            raise CommandError(
                f"Un fichier de clés existe déjà : {path}. Déplacez-le d'abord s'il est endommagé ; "
                "ne le supprimez pas s'il est peut-être le bon."
            )
        try:
            code = kit.read_kit_file(Path(opts["kit"])) if opts.get("kit") else self._type_code()
            material = kit.material_from_code(code)
        except FileNotFoundError:
            raise CommandError(f"Kit introuvable : {opts['kit']}") from None
        except recoverykit.KitError as exc:
            raise CommandError(str(exc)) from None
        known = set(PatientKey.objects.values_list("kek_id", flat=True).distinct())
        if known and material.primary_kek not in known:
            raise CommandError(
                f"Ce kit contient la clé maîtresse {material.primary_kek}, mais les données de cette base sont "
                f"protégées par {', '.join(sorted(known))} : kit d'avant une rotation, ou d'un autre cabinet ?"
            )
        keyfile.create(path, material)
        service.reset()
        settings.HYGIE_FINGERPRINT_KEY = material.fingerprint_key
        with transaction.atomic():
            journal.record(Ev.KEYS_RECOVERED, actor_role=CLI_ROLE, details={"kek": material.primary_kek})
        self.stdout.write(f"Fichier de clés reconstitué : {path}")
        self.stdout.write("Les sessions ouvertes avant la perte sont fermées ; chacun se reconnecte.")
        self.stdout.write(
            "Le fichier reconstitué n'a pas de phrase de passe : « hygie keys protect » pour en remettre une."
        )

    def _type_code(self) -> str:
        self.stdout.write("Saisissez le code de récupération, ligne par ligne (L01, L02…), puis une ligne vide :")
        lines = []
        while True:
            try:
                line = input()
            except EOFError:
                break
            if not line.strip():
                break
            lines.append(line.strip())
        # « L01 » prefixes are optional when typing.
        return " ".join(line.split(None, 1)[1] if line[:1] in "Ll" and line[1:3].isdigit() else line for line in lines)

    def do_reapply_erasures(self, **opts: Any) -> None:
        from hygie.patients.actions import reapply_erasures

        self._material(opts)
        done = reapply_erasures()
        self.stdout.write(f"{len(done)} patient(s) effacé(s) à nouveau.")
