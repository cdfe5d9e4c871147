"""`hygie rights export --patient P-… --format fhir|pdf --out FICHIER [--request UUID]`.

For the operator at the machine: the copy of a record that answers a request recorded in the
register (access or portability, not refused), written outside the data directory, never over an
existing file, readable by its owner only (0600). It acts on behalf of the request's titulaire;
the journal says so (role "cli", event patient:rights:exported with the request). Without
--request, the open request of the patient that fits the format is taken (pdf: communication of
the record first, fhir: portability first); none: refused.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction
from django.http import Http404

from hygie.core.management.base import HygieCommand


class Command(HygieCommand):
    help = "Droits des patients : exporter le dossier qui répond à une demande enregistrée."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        export = sub.add_parser("export", help="Écrit la copie d'un dossier (PDF ou FHIR R4) dans un fichier.")
        export.add_argument("--patient", required=True, help="Code du patient (P-XXXXXXXX).")
        export.add_argument("--format", required=True, choices=["fhir", "pdf"], help="pdf ou fhir.")
        export.add_argument("--out", required=True, help="Fichier à écrire (hors du répertoire de données).")
        export.add_argument("--request", help="Identifiant de la demande (sinon : la demande ouverte du patient).")
        export.add_argument("--json", action="store_true", help="Sortie JSON.")
        export.add_argument("--passphrase-file", help="Phrase de passe du fichier de clés (première ligne).")
        export.add_argument(
            "--passphrase-stdin", action="store_true", help="Lit la phrase de passe sur l'entrée standard."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        self._export(opts)

    def _ready(self, opts: dict[str, Any]) -> None:
        from hygie.core import startup
        from hygie.core.actions import CLI_ROLE
        from hygie.keys import prompt, service

        if startup.existing_practice() is None:
            raise CommandError("Aucun cabinet dans ce répertoire de données : lancez d'abord « hygie init ».")
        try:
            startup.require_keys()
        except startup.StartupError as exc:
            raise CommandError(str(exc), returncode=2) from None
        if service.is_locked():
            prompt.unlock_or_fail(prompt.current_passphrases(opts), stderr=self.stderr, role=CLI_ROLE)

    @staticmethod
    def _target(value: str) -> Path:
        out = Path(value).expanduser().absolute()
        data_dir = Path(settings.DATA_DIR).resolve()
        resolved = out.parent.resolve() / out.name
        if resolved == data_dir or data_dir in resolved.parents:
            raise CommandError(
                "--out : le fichier ne doit pas être écrit dans le répertoire de données de Hygie, où il "
                "resterait en clair. Choisissez un autre dossier (clé USB chiffrée, dossier personnel)."
            )
        if not out.parent.is_dir():
            raise CommandError("--out : le dossier de destination n'existe pas.")
        if out.exists():
            raise CommandError("--out : ce fichier existe déjà ; il n'est pas remplacé.")
        return out

    @staticmethod
    def _request(code: str, fmt: str, wanted: str | None) -> Any:
        import uuid

        from hygie.access import records
        from hygie.rights.models import Right, Status

        found = records.all_rights_requests().filter(
            patient_code=code.strip().upper(), patient__isnull=False,
            right__in=[Right.ACCESS, Right.PORTABILITY],
        ).exclude(status=Status.REFUSED).select_related("patient", "practitioner")
        if wanted:
            try:
                key = uuid.UUID(wanted)
            except ValueError:
                raise CommandError("--request : identifiant de demande illisible.") from None
            request = found.filter(public_id=key).first()
            if request is None:
                raise CommandError(
                    "--request : aucune demande d'accès ou de portabilité de ce patient ne porte cet identifiant."
                )
            return request
        first = Right.ACCESS if fmt == "pdf" else Right.PORTABILITY
        candidates = sorted(found.filter(status=Status.OPEN), key=lambda r: (r.right != first, r.received_at))
        if not candidates:
            raise CommandError(
                "Aucune demande d'accès ou de portabilité en cours pour ce patient : enregistrez d'abord la "
                "demande (dossier du patient, « Enregistrer une demande »)."
            )
        return candidates[0]

    def _export(self, opts: dict[str, Any]) -> None:
        from hygie.access import records
        from hygie.rights import actions

        out = self._target(opts["out"])
        self._ready(opts)
        request = self._request(opts["patient"], opts["format"], opts.get("request"))
        practitioner = request.practitioner
        if not practitioner.is_active:
            raise CommandError("Le praticien titulaire de cette demande n'est plus actif.")
        try:
            material = records.record_material(practitioner, request.patient)
        except Http404:
            raise CommandError(
                "Ce dossier est dans l'archive intermédiaire : son titulaire doit d'abord l'ouvrir (page « Archives »)."
            ) from None
        try:
            with transaction.atomic():
                data = actions.export(
                    actor=practitioner, request=request, fmt=opts["format"], material=material, via="cli"
                )
                # Written inside the transaction: a file that cannot be written leaves no journal event.
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    with os.fdopen(fd, "wb") as fh:
                        fh.write(data)
                except BaseException:
                    with contextlib.suppress(FileNotFoundError):
                        out.unlink()
                    raise
        except actions.ActionError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"--out : écriture impossible ({exc.strerror}). Rien n'a été exporté.") from None
        result = {"patient": request.patient_code, "request": str(request.public_id), "format": opts["format"],
                  "out": str(out), "bytes": len(data)}
        if opts["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(f"Export écrit : {out} ({len(data)} octets), demande {request.public_id}.")
