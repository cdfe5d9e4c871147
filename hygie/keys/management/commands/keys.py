"""`hygie keys …`: the encryption keys of the practice (docs/encryption.md).

    hygie keys status
    hygie keys rotate [--batch-size N]
    hygie keys recovery-kit --format pdf|txt --out FICHIER
    hygie keys recover [--kit FICHIER]      (also the journal signing key and the backup identity)
    hygie keys reapply-erasures
    hygie keys protect [--passphrase-file F] [--current-passphrase-file F]
    hygie keys unprotect [--passphrase-file F]

With a key file protected by a passphrase, every action asks it first (or reads it from
--passphrase-file, or from standard input with --passphrase-stdin).
"""

from __future__ import annotations

import argparse
import os
import re
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
        recover = sub.add_parser(
            "recover",
            help="Reconstitue à partir du kit le fichier de clés, la clé de signature du journal et "
            "l'identité de sauvegarde absents.",
        )
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
        """The key file, the journal signing key and the backup identity, from the kit: each
        written only where this machine has none, never over a different one. Everything is
        checked before anything is written."""
        from hygie.audit import checkpoint
        from hygie.backups import identity

        path = self._key_file()
        try:
            found = kit.read_kit_file(Path(opts["kit"])) if opts.get("kit") else self._type_kit()
        except FileNotFoundError:
            raise CommandError(f"Kit introuvable : {opts['kit']}") from None
        except recoverykit.KitError as exc:
            raise CommandError(str(exc)) from None
        material = found.material
        write_key_file = not path.exists()
        if not write_key_file and not self._same_keys(path, material):
            raise CommandError(
                f"Un fichier de clés existe déjà : {path}. Déplacez-le d'abord s'il est endommagé ; "
                "ne le supprimez pas s'il est peut-être le bon."
            )
        try:
            signing_present = found.signing_key is not None and checkpoint.has_signing_key(found.signing_key)
            identity_present = bool(found.backup_identity) and identity.has(found.backup_identity)
        except (checkpoint.SigningKeyConflict, identity.IdentityConflict) as exc:
            raise CommandError(f"{exc} Rien n'a été modifié.") from None
        write_signing = found.signing_key is not None and not signing_present
        write_identity = bool(found.backup_identity) and not identity_present
        if not (write_key_file or write_signing or write_identity):
            raise CommandError(
                f"Un fichier de clés existe déjà : {path}. Il correspond à ce kit, comme la clé de signature "
                "du journal et l'identité de sauvegarde de cette machine : rien à reconstituer."
            )
        database = self._database_ready()
        if write_key_file and database:
            known = set(PatientKey.objects.values_list("kek_id", flat=True).distinct())
            if known and material.primary_kek not in known:
                raise CommandError(
                    f"Ce kit contient la clé maîtresse {material.primary_kek}, mais les données de cette base "
                    f"sont protégées par {', '.join(sorted(known))} : kit d'avant une rotation, ou d'un autre "
                    "cabinet ?"
                )

        if write_key_file:
            keyfile.create(path, material)
            service.reset()
            settings.HYGIE_FINGERPRINT_KEY = material.fingerprint_key
            self.stdout.write(f"Fichier de clés reconstitué : {path}")
        else:
            self.stdout.write(f"Fichier de clés déjà en place, conforme au kit : {path}")
        self._recover_signing_key(found.signing_key, write_signing)
        self._recover_identity(found.backup_identity, write_identity)
        if database:
            details = {
                "kek": material.primary_kek,
                "keyfile": write_key_file,
                "signing_key": write_signing,
                "backup_identity": write_identity,
            }
            with transaction.atomic():
                journal.record(Ev.KEYS_RECOVERED, actor_role=CLI_ROLE, details=details)
        else:
            self.stdout.write(
                "Pas encore de base Hygie ici (nouvelle machine) : le kit n'a pas pu être comparé aux données. "
                "Étape suivante : hygie backup restore DOSSIER_DES_SAUVEGARDES --to NOUVEAU_DOSSIER "
                "(docs/operations.md, « Reprise après sinistre »)."
            )
        if write_key_file:
            self.stdout.write("Les sessions ouvertes avant la perte sont fermées ; chacun se reconnecte.")
            self.stdout.write(
                "Le fichier reconstitué n'a pas de phrase de passe : « hygie keys protect » pour en remettre une."
            )

    def _same_keys(self, path: Path, material: keyfile.KeyMaterial) -> bool:
        """Whether the key file in place holds the kit's keys (a protected or damaged one: no)."""
        try:
            current = keyfile.load(path, upgrade=False)
        except keyfile.KeyFileError:
            return False
        return (
            current.fingerprint_key == material.fingerprint_key
            and current.data_root_key == material.data_root_key
            and current.keks.get(material.primary_kek) == material.kek
        )

    def _database_ready(self) -> bool:
        """Whether Hygie's tables are there to check the kit against (no: a new machine whose
        database is still to be restored, or an unreachable one)."""
        from django.db import DatabaseError, connection

        try:
            return PatientKey._meta.db_table in connection.introspection.table_names()
        except DatabaseError:
            return False

    def _recover_signing_key(self, private: bytes | None, write: bool) -> None:
        from hygie.audit import checkpoint, conf

        self._recover_file(
            what="la clé de signature du journal",
            done="Clé de signature du journal",
            where=conf.signing_key_file(),
            present=private is not None,
            write=write,
            install=lambda: checkpoint.install_signing_key(private),
            conflict=checkpoint.SigningKeyConflict,
            without="sans elle, les points de contrôle signés avant la perte ne se vérifient plus "
            "(hygie audit verify), et une nouvelle clé sera créée. Imprimez un nouveau kit dès que Hygie "
            "tourne (hygie keys recovery-kit).",
        )

    def _recover_identity(self, secret: str, write: bool) -> None:
        from hygie.backups import identity

        where = identity.identity_file()
        self._recover_file(
            what="l'identité de sauvegarde",
            done="Identité de sauvegarde",
            where=where,
            present=bool(secret),
            write=write,
            install=lambda: identity.install(secret),
            conflict=identity.IdentityConflict,
            without=f"pour restaurer une sauvegarde, recopiez sa ligne AGE-SECRET-KEY-1… dans {where}, "
            "ou indiquez --identity FICHIER à hygie backup restore.",
        )

    def _recover_file(
        self, *, what: str, done: str, where: Path, present: bool, write: bool, install: Any, conflict: type,
        without: str,
    ) -> None:
        """One file of the kit besides the key file: written if missing, kept if the same."""
        if not present:
            missing = f"Ce kit ne contient pas {what} (kit plus ancien)"
            if where.exists():
                self.stdout.write(f"{missing} ; celle de cette machine est gardée : {where}.")
            else:
                self.stdout.write(f"{missing} : {without}")
            return
        if write:
            try:
                install()
            except conflict as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"{done} reconstituée : {where}")
        else:
            self.stdout.write(f"{done} déjà en place, conforme au kit : {where}")

    def _type_kit(self) -> kit.Contents:
        code = self._type_lines(
            "Saisissez le code de récupération, ligne par ligne (L01, L02…), puis une ligne vide :",
            recoverykit.CODE_PREFIX,
        )
        kit.material_from_code(code)  # a typing error is reported before the next part is asked
        signing = self._type_lines(
            "Clé de signature du journal, ligne par ligne (J01, J02…), puis une ligne vide "
            "(une ligne vide seule si votre kit n'en a pas) :",
            recoverykit.SIGNING_PREFIX,
        )
        if signing:
            recoverykit.decode_signing_key(signing)
        identity = self._type_lines(
            "Identité de sauvegarde (la ligne AGE-SECRET-KEY-1…), puis une ligne vide "
            "(une ligne vide seule si votre kit n'en a pas) :",
            "",
        )
        return kit.parse(code, signing, identity)

    def _type_lines(self, prompt_text: str, prefix: str) -> str:
        self.stdout.write(prompt_text)
        lines = []
        while True:
            try:
                line = input()
            except EOFError:
                break
            if not line.strip():
                break
            lines.append(line.strip())
        # « L01 » (« J01 ») prefixes are optional when typing.
        if prefix:
            lines = [re.sub(rf"^{prefix}\d\d\s+", "", line, flags=re.IGNORECASE) for line in lines]
        return " ".join(lines)

    def do_reapply_erasures(self, **opts: Any) -> None:
        from hygie.patients.actions import reapply_erasures

        self._material(opts)
        done = reapply_erasures()
        self.stdout.write(f"{len(done)} patient(s) effacé(s) à nouveau.")
