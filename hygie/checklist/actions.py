"""Every change to the checklist, each with its journal event in the same transaction.

Refused input raises ChecklistError (French, safe to show) before anything is written. A note or
a proof is never copied into the journal: the event says which item, which answer, whether a
proof came with it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hygie.accounts.models import User
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.checklist import catalogue, proofs
from hygie.checklist.catalogue import CourseKind
from hygie.checklist.models import Answer, Declaration, Diagnostic, ScoreRecord, Training
from hygie.lib import hostprobe, selfcheck

NOTE_MAX = 2000


class ChecklistError(Exception):
    """A refused change. The message is French and safe to show."""


def _check_date(when: date | None, today: date, *, what: str) -> date:
    if when is None:
        raise ChecklistError(_("Indiquez la date %(what)s.") % {"what": what})
    if when > today:
        raise ChecklistError(_("La date %(what)s ne peut pas être dans le futur.") % {"what": what})
    return when


@transaction.atomic
def declare(
    *,
    actor: Any,
    item_id: str,
    answer: str,
    declared_on: date | None,
    note: str = "",
    proof: bytes | None = None,
    today: date | None = None,
) -> Declaration:
    """Record that `item_id` was checked on `declared_on`: done ("ok") or not yet ("todo")."""
    today = today or timezone.localdate()
    item = catalogue.get(item_id)
    if item is None:
        raise ChecklistError(_("Point de la check-list inconnu."))
    if item.kind != catalogue.DECLARED:
        raise ChecklistError(_("Ce point est vérifié par Hygie lui-même : il ne se déclare pas."))
    if answer not in Answer.values:
        raise ChecklistError(_("Réponse attendue : « fait » ou « pas encore fait »."))
    declared_on = _check_date(declared_on, today, what=_("de la vérification"))
    if selfcheck.declaration_expires_on(declared_on) <= today:
        raise ChecklistError(
            _("Une vérification de plus d'un an ne compte plus : vérifiez à nouveau et indiquez la date du jour.")
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ChecklistError(_("La note est trop longue (%(max)s caractères au plus).") % {"max": NOTE_MAX})
    declaration = Declaration(
        item=item.id, answer=answer, declared_on=declared_on, note=note, declared_by=actor,
    )
    if proof:
        try:
            declaration.proof_type = proofs.check(proof)
        except proofs.ProofError as exc:
            raise ChecklistError(str(exc)) from None
        declaration.proof = proofs.seal(declaration.public_id, proof)
        declaration.proof_size = len(proof)
    declaration.save()
    journal.record(
        Ev.CHECKLIST_DECLARED,
        actor=actor,
        target=declaration,
        details={"item": item.id, "answer": answer, "declared_on": declared_on.isoformat(), "proof": bool(proof)},
    )
    return declaration


def proof_downloaded(*, actor: Any, declaration: Declaration) -> bytes:
    """The proof's bytes, its download journaled."""
    data = proofs.open_sealed(declaration.public_id, declaration.proof)
    journal.record(Ev.CHECKLIST_PROOF_DOWNLOADED, actor=actor, target=declaration, details={"item": declaration.item})
    return data


def poster_exported(*, actor: Any, score: int) -> None:
    journal.record(Ev.CHECKLIST_POSTER_EXPORTED, actor=actor, details={"score": score})


@transaction.atomic
def record_training(
    *, actor: Any, person: User | None, course: str, followed_on: date | None, title: str = "",
    today: date | None = None,
) -> Training:
    today = today or timezone.localdate()
    if person is None or not person.is_active:
        raise ChecklistError(_("Choisissez une personne dont le compte est actif."))
    if course not in dict(CourseKind.CHOICES):
        raise ChecklistError(_("Formation inconnue."))
    followed_on = _check_date(followed_on, today, what=_("de la formation"))
    title = (title or "").strip()
    if course in (CourseKind.INTERNAL, CourseKind.OTHER) and not title:
        raise ChecklistError(_("Indiquez l'intitulé de la séance ou de la formation."))
    if len(title) > 120:
        raise ChecklistError(_("L'intitulé est trop long (120 caractères au plus)."))
    training = Training.objects.create(
        person=person, course=course, title=title, followed_on=followed_on, recorded_by=actor
    )
    journal.record(
        Ev.TRAINING_RECORDED, actor=actor, target=training,
        details={"person": str(person.public_id), "course": course, "followed_on": followed_on.isoformat()},
    )
    return training


@transaction.atomic
def record_diagnostic(report: hostprobe.Report, *, actor: Any = None, actor_role: str | None = None) -> Diagnostic:
    """Keep the server's diagnostic: it feeds the matching checklist items, dated."""
    diagnostic = Diagnostic.objects.create(
        at=timezone.now(),
        host=report.host[:120],
        system=report.system[:40],
        checks=report.as_dict()["checks"],
    )
    counts = {s: sum(1 for f in report.findings if f.status == s) for s in selfcheck.STATUSES}
    journal.record(Ev.DIAGNOSTIC_RECORDED, actor=actor, target=diagnostic, details=counts, actor_role=actor_role)
    return diagnostic


@transaction.atomic
def record_score(*, score: int, counts: dict[str, int], day: date | None = None) -> ScoreRecord:
    """The score of the day (once a day, by the worker), for the trend."""
    day = day or timezone.localdate()
    record, _created = ScoreRecord.objects.update_or_create(
        day=day,
        defaults={
            "score": score,
            "ok": counts.get(selfcheck.OK, 0),
            "todo": counts.get(selfcheck.TODO, 0),
            "unknown": counts.get(selfcheck.UNKNOWN, 0),
        },
    )
    journal.record(Ev.CHECKLIST_SCORED, target=record, details={"score": score, "day": day.isoformat()}, actor_role="")
    return record


def flag_unjournaled_export(*, actor: Any, view: str) -> None:
    """A page sent a file without writing any journal event (hygie.checklist.middleware): the
    "exports journaled" item turns to "to do" and says which page."""
    journal.record(Ev.EXPORT_UNJOURNALED, actor=actor, details={"view": view[:80]})
