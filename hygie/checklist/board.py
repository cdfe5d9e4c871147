"""Where the practice stands today: every item of the catalogue with its status, the score, the
trend and the next steps in order of risk.

Computed items read Hygie's own state each time, never a stored answer: accounts and their
second factors (allauth MFA), the idle lock setting, backups (hygie.backups.status: its public
functions, not a copy of them), the journal's last verification, the role matrix, the journal's
record of exports, staff training, and the server's last `hygie diagnostic`. Declared items read
their latest declaration, which holds one year. An item nobody declared is "unknown", never "ok".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Exists, Model, OuterRef, QuerySet, Subquery
from django.db.models.expressions import BaseExpression
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from hygie.access.policy import Cap, Role, role_can
from hygie.accounts.models import User
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.backups import status as backup_status
from hygie.backups.models import Target
from hygie.checklist import catalogue
from hygie.checklist.catalogue import Item
from hygie.checklist.models import Declaration, Diagnostic, ScoreRecord, Training
from hygie.core import frozen, onerow
from hygie.lib import selfcheck
from hygie.lib.selfcheck import OK, TODO, UNKNOWN

# The journal is verified daily by the worker (hygie/audit/jobs.py); one missed day is tolerated.
JOURNAL_VERIFY_MAX_AGE = timedelta(days=2)
# Exports without a journal event are looked for over the last year.
EXPORT_WINDOW = timedelta(days=365)
# The trend compares today's score with the one of about a month ago.
TREND_DAYS = 30

_M = TypeVar("_M", bound=Model)


@dataclass
class Row:
    item: Item
    status: str
    detail: str = ""
    # Since when the item is due (to do) or the date it rests on (ok); None: never checked.
    since: date | None = None
    declaration: Declaration | None = None
    expires_on: date | None = None

    @property
    def computed(self) -> bool:
        return self.item.computed

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.item.id,
            "label": str(self.item.label),
            "source": self.item.source,
            "status": self.status,
            "computed": self.computed,
            "section": self.item.section.id,
            "risk": self.item.risk,
            "detail": self.detail,
            "why": str(self.item.why),
            "todo": str(self.item.todo),
            "since": self.since.isoformat() if self.since else None,
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "poster": self.item.poster,
        }


@dataclass
class Board:
    rows: list[Row]
    score: int
    previous: ScoreRecord | None
    history: list[ScoreRecord] = field(default_factory=list)
    next_steps: list[Row] = field(default_factory=list)
    due_training: list[User] = field(default_factory=list)

    @property
    def trend(self) -> int | None:
        return selfcheck.trend(self.score, self.previous.score if self.previous else None)

    @property
    def oldest(self) -> Row | None:
        """The thing to do that has waited longest (never checked first), the riskiest on a tie."""
        waiting = [row for row in self.rows if row.status != OK]
        if not waiting:
            return None
        return min(waiting, key=lambda r: (r.since or date.min, -r.item.risk, r.item.id))

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.rows if r.status == s) for s in selfcheck.STATUSES}

    def by_section(self) -> list[tuple[catalogue.Section, list[Row]]]:
        return [(s, [r for r in self.rows if r.item.section == s]) for s in catalogue.SECTIONS]

    def as_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "trend": self.trend,
            "counts": self.counts(),
            "next_steps": [row.item.id for row in self.next_steps],
            "items": [row.as_json() for row in self.rows],
        }


def _d(when: date | datetime) -> str:
    if isinstance(when, datetime):
        when = timezone.localtime(when).date()
    return date_format(when, "d/m/Y")


# --- Computed items ------------------------------------------------------------------------------

_FACTOR_TYPES = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]


def _active_users() -> list[User]:
    """The active accounts, each with `hygie_has_factor` (a TOTP or WebAuthn second factor) and
    `hygie_trained_on` (their last training, None if never): read once for the three items."""
    # Compiled once per process (hygie.core.frozen): this query is on every titulaire's dashboard.
    return list(frozen.queryset(_active_users_rows))


def _active_users_rows() -> QuerySet[User]:
    factor = Authenticator.objects.filter(user_id=OuterRef("pk"), type__in=_FACTOR_TYPES)
    trained = Training.objects.filter(person_id=OuterRef("pk")).order_by("-followed_on").values("followed_on")[:1]
    return (
        User.objects.filter(is_active=True)
        .annotate(hygie_has_factor=Exists(factor), hygie_trained_on=Subquery(trained))
        .order_by("username")
    )


def _named_accounts(now: datetime, active: list[User]) -> Row:
    item = catalogue.BY_ID["comptes-nominatifs"]
    bad = [u.username for u in active if not selfcheck.is_named_account(u.username, u.first_name, u.last_name)]
    if bad:
        return Row(item, TODO, ngettext(
            "%(n)s compte ne désigne pas une personne : %(names)s.",
            "%(n)s comptes ne désignent pas une personne : %(names)s.", len(bad),
        ) % {"n": len(bad), "names": ", ".join(bad)})
    return Row(item, OK, _("%(n)s comptes actifs, tous au nom d'une personne.") % {"n": len(active)})


def _second_factor(now: datetime, active: list[User]) -> Row:
    item = catalogue.BY_ID["second-facteur"]
    missing = [u.username for u in active if not u.hygie_has_factor]  # type: ignore[attr-defined]
    if missing:
        return Row(item, TODO, ngettext(
            "%(n)s compte actif sans second facteur : %(names)s.",
            "%(n)s comptes actifs sans second facteur : %(names)s.", len(missing),
        ) % {"n": len(missing), "names": ", ".join(missing)})
    return Row(item, OK, _("Les %(n)s comptes actifs ont un second facteur.") % {"n": len(active)})


def _idle_lock(now: datetime) -> Row:
    item = catalogue.BY_ID["verrouillage-hygie"]
    minutes = settings.IDLE_LOCK_MINUTES
    limit = selfcheck.SCREEN_LOCK_MAX_MINUTES
    values = {"minutes": minutes, "limit": limit}
    if minutes > limit:
        return Row(item, TODO, _("Hygie se verrouille après %(minutes)s min d'inactivité : %(limit)s min au "
            "plus.") % values)
    return Row(item, OK, _("Hygie se verrouille après %(minutes)s min d'inactivité.") % values)


def _backups(now: datetime, items: dict[str, backup_status.Item], any_target: bool) -> Row:
    item = catalogue.BY_ID["sauvegardes"]
    if not any_target:
        return Row(item, TODO, _("Aucune destination de sauvegarde active : rien n'est sauvegardé automatiquement."))
    offsite = items["offsite"]
    if offsite.last_success is None:
        return Row(item, TODO, _("Sauvegardes automatiques et chiffrées, mais jamais de copie hors site réussie."))
    since = timezone.localtime(offsite.last_success).date()
    if offsite.late:
        return Row(item, TODO, _("Dernière copie hors site le %(date)s : trop "
            "ancienne.") % {"date": _d(offsite.last_success)}, since)
    return Row(item, OK, _("Automatiques, chiffrées (age) ; dernière copie hors site le "
        "%(date)s.") % {"date": _d(offsite.last_success)}, since)


def _recent_backup(now: datetime, items: dict[str, backup_status.Item]) -> Row:
    item = catalogue.BY_ID["sauvegarde-recente"]
    return _run_row(item, items["backup"], _("Dernière sauvegarde réussie le %(date)s."),
                    _("Aucune sauvegarde réussie."))


def _restore_test(now: datetime, items: dict[str, backup_status.Item]) -> Row:
    item = catalogue.BY_ID["test-restauration"]
    return _run_row(item, items["restore_test"], _("Dernier test de restauration réussi le %(date)s."),
                    _("Aucun test de restauration réussi."))


def _run_row(item: Item, run: backup_status.Item, ok_text: str, never_text: str) -> Row:
    since = timezone.localtime(run.last_success).date() if run.last_success else None
    if run.failed_at is not None:
        text = _("Échec le %(date)s : %(message)s") % {"date": _d(run.failed_at), "message": run.failure_message or "?"}
        return Row(item, TODO, text, since)
    if run.last_success is None:
        return Row(item, TODO, never_text)
    text = ok_text % {"date": _d(run.last_success)}
    if run.late:
        return Row(item, TODO, text + " " + _("C'est trop ancien."), since)
    return Row(item, OK, text, since)


def _journal_verified(now: datetime, read: dict[str, Any]) -> Row:
    item = catalogue.BY_ID["journal-verifie"]
    at, details = read["checklist_verified_at"], read["checklist_verified_details"]
    if at is None:
        return Row(item, TODO, _("Le journal n'a jamais été vérifié."))
    since = timezone.localtime(at).date()
    if not (details or {}).get("ok"):
        return Row(item, TODO, _("Vérification du %(date)s : journal altéré.") % {"date": _d(at)}, since)
    if now - at > JOURNAL_VERIFY_MAX_AGE:
        return Row(item, TODO, _("Dernière vérification le %(date)s : trop ancienne.") % {"date": _d(at)}, since)
    return Row(item, OK, _("Journal intègre, vérifié le %(date)s.") % {"date": _d(at)}, since)


def _billing_pseudonyms(now: datetime) -> Row:
    item = catalogue.BY_ID["facturation-pseudonymes"]
    leaks = [cap for cap in (Cap.BILLING_SEES_NAMES, Cap.PATIENT_IDENTITY_VIEW, Cap.PATIENT_LIST)
             if role_can(Role.FACTURATION, cap)]
    if leaks:
        return Row(item, TODO, _("Le rôle facturation a reçu : %(caps)s.") % {"caps": ", ".join(leaks)})
    return Row(item, OK, _("Le rôle facturation ne voit que des codes pseudonymes (P-XXXXXXXX)."))


def _exports_journaled(now: datetime, read: dict[str, Any]) -> Row:
    item = catalogue.BY_ID["exports-journalises"]
    at, details = read["checklist_unjournaled_at"], read["checklist_unjournaled_details"]
    if at is not None:
        return Row(item, TODO, _("%(n)s téléchargement(s) sans trace depuis un an, le dernier le %(date)s (page "
            "%(view)s).") % {
            "n": read["checklist_unjournaled_count"], "date": _d(at), "view": (details or {}).get("view", "?"),
        }, timezone.localtime(at).date())
    return Row(item, OK, _("Chaque téléchargement de l'année a écrit son événement au journal."))


def _training(now: datetime, today: date, active: list[User], any_training: bool) -> tuple[Row, list[User]]:
    item = catalogue.BY_ID["formation"]
    if not any_training:
        return Row(item, UNKNOWN, _("Aucune formation enregistrée.")), active
    last: dict[int, date] = {u.pk: u.hygie_trained_on for u in active if u.hygie_trained_on}  # type: ignore[attr-defined]
    due = [u for u in active if selfcheck.training_due(last.get(u.pk), today)]
    if due:
        oldest = min((last.get(u.pk) for u in due), key=lambda d: d or date.min)
        since = oldest + timedelta(days=selfcheck.TRAINING_VALID_DAYS) if oldest else None
        return Row(item, TODO, ngettext(
            "%(n)s personne sans formation depuis plus d'un an : %(names)s.",
            "%(n)s personnes sans formation depuis plus d'un an : %(names)s.", len(due),
        ) % {"n": len(due), "names": ", ".join(u.display_name for u in due)}, since), due
    return Row(item, OK, _("Chaque personne a suivi une formation depuis moins d'un an.")), []


_DIAGNOSTIC_FIELDS = ("id", "at", "host", "system", "checks")
_SCORE_FIELDS = ("id", "day", "score")


def reads(now: datetime) -> dict[str, BaseExpression]:
    """The board's single values (`evaluate`'s `read`) as scalar sub-selects, for one round
    trip (`hygie.core.onerow`), the backups' ones (`hygie.backups.status.reads`) included: the
    latest diagnostic, whether a backup destination is enabled, the last journal verification,
    the exports without a journal event over the year and the score a month ago."""
    today = timezone.localdate(now)
    out = backup_status.reads()
    out.update(onerow.frozen(_constant_reads))
    out.update(onerow.frozen(
        _moment_reads,
        now - timedelta(days=selfcheck.DIAGNOSTIC_VALID_DAYS),
        now - EXPORT_WINDOW,
        today,
        today - timedelta(days=TREND_DAYS),
    ))
    return out


def _moment_reads(
    diagnostic_since: datetime, exports_since: datetime, today: date, trend_since: date
) -> dict[str, BaseExpression]:
    out: dict[str, BaseExpression] = {}
    diagnostic = Diagnostic.objects.filter(at__gte=diagnostic_since).order_by("-at", "-id")
    for name in _DIAGNOSTIC_FIELDS:
        out[f"checklist_diagnostic_{name}"] = Subquery(diagnostic.values(name)[:1])
    flagged = Event.objects.filter(action=Ev.EXPORT_UNJOURNALED, at__gte=exports_since).order_by("-id")
    out["checklist_unjournaled_at"] = Subquery(flagged.values("at")[:1])
    out["checklist_unjournaled_details"] = Subquery(flagged.values("details")[:1])
    out["checklist_unjournaled_count"] = onerow.CountOf(flagged.values("id"))
    # The trend's reference: the oldest score of the last 30 days, else the latest before today.
    window = ScoreRecord.objects.filter(day__lt=today, day__gte=trend_since).order_by("day")
    latest = ScoreRecord.objects.filter(day__lt=today).order_by("-day")
    for name in _SCORE_FIELDS:
        out[f"checklist_previous_{name}"] = Coalesce(
            Subquery(window.values(name)[:1]), Subquery(latest.values(name)[:1])
        )
    return out


def _constant_reads() -> dict[str, BaseExpression]:
    verified = Event.objects.filter(action=Ev.JOURNAL_VERIFIED).order_by("-id")
    return {
        "checklist_any_target": Exists(Target.objects.filter(enabled=True)),
        "checklist_any_training": Exists(Training.objects.all()),
        "checklist_verified_at": Subquery(verified.values("at")[:1]),
        "checklist_verified_details": Subquery(verified.values("details")[:1]),
    }


def _loaded(model: type[_M], prefix: str, fields: tuple[str, ...], read: dict[str, Any]) -> _M | None:
    """The row read as `prefix + field` values (None when there was none); other fields deferred."""
    if read[f"{prefix}id"] is None:
        return None
    return model.from_db(DEFAULT_DB_ALIAS, list(fields), [read[prefix + name] for name in fields])


def _server(item: Item, diagnostic: Diagnostic | None) -> Row:
    if diagnostic is None:
        return Row(item, UNKNOWN, _("Aucun diagnostic récent du serveur : lancez « hygie diagnostic --record »."))
    found = diagnostic.status_of(item.probes[0])
    if found is None:
        return Row(item, UNKNOWN, _("Le dernier diagnostic ne contient pas ce contrôle."))
    status, detail = found
    since = timezone.localtime(diagnostic.at).date()
    return Row(item, status if status in selfcheck.STATUSES else UNKNOWN,
               _("Serveur, le %(date)s : %(detail)s") % {"date": _d(diagnostic.at), "detail": detail}, since)


# --- Declared items -----------------------------------------------------------------------------

def _latest_declarations() -> dict[str, Declaration]:
    latest: dict[str, Declaration] = {}
    # Compiled once per process (hygie.core.frozen): on every titulaire's dashboard.
    for declaration in frozen.queryset(_declarations):
        latest.setdefault(declaration.item, declaration)
    return latest


def _declarations() -> QuerySet[Declaration]:
    return Declaration.objects.select_related("declared_by").order_by("item", "-declared_on", "-id")


def _declared(item: Item, declaration: Declaration | None, diagnostic: Diagnostic | None, today: date) -> Row:
    if declaration is None:
        row = Row(item, UNKNOWN, _("Personne ne l'a encore vérifié."))
    else:
        expires = selfcheck.declaration_expires_on(declaration.declared_on)
        status = selfcheck.declared_status(declaration.answer, declaration.declared_on, today)
        values = {"date": _d(declaration.declared_on), "who": declaration.declared_by.display_name, "end": _d(expires)}
        if status == TODO and declaration.answer == OK:
            row = Row(item, TODO, _("Vérifié le %(date)s par %(who)s : à vérifier de nouveau (plus d'un an).") % values,
                      expires, declaration, expires)
        elif status == TODO:
            row = Row(item, TODO, _("Déclaré « pas encore fait » le %(date)s par %(who)s.") % values,
                      declaration.declared_on, declaration, expires)
        else:
            row = Row(item, OK, _("Vérifié le %(date)s par %(who)s (valable jusqu'au %(end)s).") % values,
                      declaration.declared_on, declaration, expires)
    # The server's diagnostic: a failure there makes the item "to do" whatever was declared;
    # a success alone does not make it "ok" (it says nothing of the workstations).
    if diagnostic is not None:
        for probe in item.probes:
            found = diagnostic.status_of(probe)
            if found is None:
                continue
            status, detail = found
            note = _("Serveur, le %(date)s : %(detail)s") % {"date": _d(diagnostic.at), "detail": detail}
            row.detail = f"{row.detail} {note}".strip()
            if status == TODO and row.status != TODO:
                row.status = TODO
                row.since = timezone.localtime(diagnostic.at).date()
    return row


# --- The whole board ------------------------------------------------------------------------------

def evaluate(
    now: datetime | None = None,
    backups: list[backup_status.Item] | None = None,
    read: dict[str, Any] | None = None,
    history: bool = True,
) -> Board:
    """The board now. `backups`: `hygie.backups.status.summary(now)` when the caller (the
    dashboard, which shows it too) has just read it for the same moment. `read`: the values
    of `reads(now)` when the caller read them with its own (else one query here). `history`:
    False when the caller shows no score history (the dashboard: score, trend, oldest only)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    read = read if read is not None else onerow.read(reads(now))
    backup_items = {it.key: it for it in (backups if backups is not None else backup_status.summary(now, read))}
    diagnostic = _loaded(Diagnostic, "checklist_diagnostic_", _DIAGNOSTIC_FIELDS, read)
    declarations = _latest_declarations()
    active = _active_users()
    training_row, due = _training(now, today, active, bool(read["checklist_any_training"]))
    computed = {
        "comptes-nominatifs": lambda: _named_accounts(now, active),
        "second-facteur": lambda: _second_factor(now, active),
        "verrouillage-hygie": lambda: _idle_lock(now),
        "sauvegardes": lambda: _backups(now, backup_items, bool(read["checklist_any_target"])),
        "sauvegarde-recente": lambda: _recent_backup(now, backup_items),
        "test-restauration": lambda: _restore_test(now, backup_items),
        "journal-verifie": lambda: _journal_verified(now, read),
        "facturation-pseudonymes": lambda: _billing_pseudonyms(now),
        "exports-journalises": lambda: _exports_journaled(now, read),
        "formation": lambda: training_row,
    }
    rows: list[Row] = []
    for item in catalogue.ITEMS:
        if item.kind == catalogue.COMPUTED:
            rows.append(computed[item.id]())
        elif item.kind == catalogue.SERVER:
            rows.append(_server(item, diagnostic))
        else:
            rows.append(_declared(item, declarations.get(item.id), diagnostic, today))
    scored = [selfcheck.Scored(r.item.id, r.status, r.item.risk) for r in rows]
    score = selfcheck.score(scored)
    order = selfcheck.next_steps(scored, {r.item.id: r.since for r in rows})
    by_id = {r.item.id: r for r in rows}
    previous = _loaded(ScoreRecord, "checklist_previous_", _SCORE_FIELDS, read)
    return Board(rows=rows, score=score, previous=previous,
                 history=list(ScoreRecord.objects.filter(day__lt=today).order_by("-day")[:12]) if history else [],
                 next_steps=[by_id[i] for i in order], due_training=due)
