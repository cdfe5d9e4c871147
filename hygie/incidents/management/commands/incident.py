"""`hygie incident …`: the incident plan at the machine (docs/incidents.md).

    hygie incident lockdown --reason TEXTE [--allow IDENTIFIANT] [--json]
    hygie incident allow IDENTIFIANT [--json]     (the one admin who may sign in while isolated)
    hygie incident lift [--json]
    hygie incident status [--json]
    hygie incident breach open --aware-at ISO8601 [--discovered-at ISO8601] [--title TEXTE] [--json]
    hygie incident evidence ID --to DOSSIER [--json]
    hygie incident fiche --to FICHIER.pdf

Whoever runs these is at the machine (the administrator): the journal records the role "cli".
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from hygie.core.management.base import HygieCommand


def parse_when(value: str, flag: str) -> datetime:
    try:
        when = datetime.fromisoformat((value or "").strip())
    except ValueError:
        raise CommandError(f"{flag} : date illisible, attendu ISO 8601 (2025-11-14T09:30+01:00).") from None
    return when if timezone.is_aware(when) else timezone.make_aware(when)


class Command(HygieCommand):
    help = "Incidents : isoler Hygie, lever l'isolement, registre des violations, preuves, fiche réflexe."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        lock = sub.add_parser("lockdown", help="Isole Hygie : sessions fermées, connexions et exports refusés.")
        lock.add_argument("--reason", required=True, help="Motif (sans nom de patient).")
        lock.add_argument("--allow", help="Administrateur autorisé à se connecter pendant l'isolement.")
        allow = sub.add_parser("allow", help="Autorise un administrateur à se connecter pendant l'isolement.")
        allow.add_argument("username")
        sub.add_parser("lift", help="Lève l'isolement.")
        sub.add_parser("status", help="État : isolement, violations ouvertes et leur délai.")
        breach = sub.add_parser("breach", help="Registre des violations.")
        bsub = breach.add_subparsers(dest="breach_action", required=True, metavar="ACTION")
        bopen = bsub.add_parser("open", help="Ouvre une violation au registre ; affiche l'échéance des 72 heures.")
        bopen.add_argument("--aware-at", required=True, help="Prise de connaissance (ISO 8601).")
        bopen.add_argument("--discovered-at", help="Découverte (ISO 8601 ; par défaut la prise de connaissance).")
        bopen.add_argument("--title", default="Violation de données (ouverte sur la machine)", help="Intitulé.")
        evidence = sub.add_parser("evidence", help="Exporte les preuves d'un incident (journal, points de contrôle).")
        evidence.add_argument("id", help="Identifiant de l'incident.")
        evidence.add_argument("--to", required=True, help="Dossier où écrire l'archive.")
        fiche = sub.add_parser("fiche", help="Écrit la fiche réflexe (PDF).")
        fiche.add_argument("--to", required=True, help="Fichier PDF à écrire.")
        for each in (lock, allow, sub.choices["lift"], sub.choices["status"], bopen, evidence):
            each.add_argument("--json", action="store_true", help="Sortie JSON.")

    def handle(self, *args: Any, **opts: Any) -> None:
        from hygie.core import startup

        if startup.existing_practice() is None:
            raise CommandError("Aucun cabinet dans ce répertoire de données : lancez d'abord « hygie init ».")
        name = opts["action"] if opts["action"] != "breach" else "breach_" + opts["breach_action"]
        getattr(self, "_" + name)(opts)

    def _out(self, opts: dict[str, Any], data: dict[str, Any], text: str) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False) if opts.get("json") else text)

    def _user(self, username: str) -> Any:
        from hygie.accounts.models import User

        user = User.objects.filter(username__iexact=(username or "").strip()).first()
        if user is None:
            raise CommandError(f"Compte inconnu : {username}.")
        return user

    def _lockdown(self, opts: dict[str, Any]) -> None:
        from hygie.incidents import actions

        allow = self._user(opts["allow"]) if opts.get("allow") else None
        try:
            row = actions.start_lockdown(actor=None, reason=opts["reason"], allow=allow)
        except actions.ActionError as exc:
            raise CommandError(str(exc)) from None
        self._out(opts, {"lockdown": str(row.public_id), "started_at": row.started_at.isoformat(),
                         "allowed": allow.username if allow else None},
                  "Hygie est isolé : sessions fermées, connexions, téléchargements, exports et sauvegardes non "
                  "verrouillées arrêtés." + (f" Seul {allow.username} peut se connecter." if allow else
                                             " Pour autoriser un administrateur : hygie incident allow IDENTIFIANT."))

    def _allow(self, opts: dict[str, Any]) -> None:
        from hygie.incidents import actions

        user = self._user(opts["username"])
        try:
            row = actions.allow_admin(user=user)
        except actions.ActionError as exc:
            raise CommandError(str(exc)) from None
        self._out(opts, {"lockdown": str(row.public_id), "allowed": user.username},
                  f"{user.username} peut se connecter pendant l'isolement (pages Incidents seulement).")

    def _lift(self, opts: dict[str, Any]) -> None:
        from hygie.incidents import actions

        try:
            row = actions.lift_lockdown(actor=None)
        except actions.ActionError as exc:
            raise CommandError(str(exc)) from None
        self._out(opts, {"lockdown": str(row.public_id), "lifted_at": row.lifted_at.isoformat() if row.lifted_at
                         else None}, "Isolement levé : Hygie fonctionne de nouveau.")

    def _status(self, opts: dict[str, Any]) -> None:
        from hygie.incidents import lockdown
        from hygie.incidents.views import clocks

        row = lockdown.current()
        breaches = [{"breach": str(i.public_id), "exercise": i.exercise, "notify_by": c.notify_by.isoformat(),
                     "stage": c.stage.value, "hours_left": c.hours_left} for i, c in clocks()]
        data = {"lockdown": None if row is None else {
            "id": str(row.public_id), "started_at": row.started_at.isoformat(),
            "allowed": row.allowed_user.username if row.allowed_user else None}, "breaches": breaches}
        text = ("Hygie est isolé depuis {}.".format(timezone.localtime(row.started_at).strftime("%d/%m/%Y %H:%M"))
                if row else "Hygie n'est pas isolé.")
        for b in breaches:
            text += f"\nViolation {b['breach']} : notifier avant {b['notify_by']} ({b['stage']})."
        self._out(opts, data, text)

    def _breach_open(self, opts: dict[str, Any]) -> None:
        from hygie.incidents import actions
        from hygie.lib import breach

        aware = parse_when(opts["aware_at"], "--aware-at")
        discovered = parse_when(opts["discovered_at"], "--discovered-at") if opts.get("discovered_at") else aware
        try:
            incident = actions.open_incident(actor=None, title=opts["title"], discovered_at=discovered,
                                             aware_at=aware)
        except actions.ActionError as exc:
            raise CommandError(str(exc)) from None
        deadline = breach.notify_by(incident.aware_at)
        self._out(opts, {"breach": str(incident.public_id), "notify_by": deadline.isoformat(),
                         "aware_at": incident.aware_at.isoformat(), "exercise": False},
                  f"Violation {incident.public_id} ouverte : notifier la CNIL avant le "
                  f"{timezone.localtime(deadline).strftime('%d/%m/%Y %H:%M')}.")

    def _evidence(self, opts: dict[str, Any]) -> None:
        from hygie.audit import journal
        from hygie.audit.events import Ev
        from hygie.incidents import evidence
        from hygie.incidents.models import Incident

        try:
            incident = Incident.objects.filter(public_id=opts["id"]).first()
        except Exception:  # a malformed id  # noqa: BLE001
            incident = None
        if incident is None:
            raise CommandError(f"Incident inconnu : {opts['id']}.")
        folder = Path(opts["to"])
        if not folder.is_dir():
            raise CommandError(f"Dossier introuvable : {folder}.")
        data, sums = evidence.build(incident)
        path = folder / f"preuves-incident-{incident.public_id}.zip"
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise CommandError(f"Écriture impossible dans {folder} : {exc.strerror}.") from None
        with transaction.atomic():
            journal.record(Ev.BREACH_EVIDENCE_EXPORTED, actor_role="cli", target=incident,
                           details={"incident": str(incident.public_id), "sha256": sums})
        self._out(opts, {"path": str(path), "sha256": sums}, f"Preuves écrites : {path}")

    def _fiche(self, opts: dict[str, Any]) -> None:
        from hygie.audit import journal
        from hygie.audit.events import Ev
        from hygie.incidents import fiche

        try:
            Path(opts["to"]).write_bytes(fiche.fiche_pdf())
        except OSError as exc:
            raise CommandError(f"Écriture impossible : {opts['to']} ({exc.strerror}).") from None
        with transaction.atomic():
            journal.record(Ev.FICHE_REFLEXE_EXPORTED, actor_role="cli")
        self.stdout.write(f"Fiche réflexe écrite : {opts['to']}")
