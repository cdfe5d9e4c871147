"""The steps of « Isoler Hygie » and of its lift, run for real (actions.start_lockdown,
actions.lift_lockdown) or in simulation during an exercise (actions.simulate_lockdown,
actions.simulate_lift): the same functions count what each step cuts or restores; only
`dry_run=False` changes anything. Each step is timed.

What a step reports is counts and names of backup destinations, never a patient or the text
of an incident: it goes into the Lockdown row and (counts only) into the journal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db.models import F
from django.utils import timezone

from hygie.access.policy import Role
from hygie.accounts import session as hygie_session
from hygie.accounts.models import User
from hygie.audit.models import Event


@dataclass
class Step:
    """One step of the switch: what it does (`label`), what it cut or would cut (`effect`),
    the number that matters (`count`), names when useful (`items`: destinations, roles), and
    how long it took to run (`ms`)."""

    key: str
    label: str
    effect: str
    count: int = 0
    items: list[str] = field(default_factory=list)
    ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _timed(run: Callable[[], Step]) -> Step:
    start = time.perf_counter()
    step = run()
    step.ms = round((time.perf_counter() - start) * 1000, 2)
    return step


def open_sessions() -> dict[int, int]:
    """Account id → number of its live sessions (not expired, epoch still current): the
    sessions the switch ends. Read from the session table shared by every server process."""
    epochs = dict(User.objects.filter(is_active=True).values_list("pk", "session_epoch"))
    found: dict[int, int] = {}
    for row in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        data = row.get_decoded()
        raw = data.get(SESSION_KEY)
        if raw is None or not str(raw).isdigit():
            continue
        user_id = int(raw)
        if user_id in epochs and data.get(hygie_session.EPOCH) == epochs[user_id]:
            found[user_id] = found.get(user_id, 0) + 1
    return found


def _sessions(dry_run: bool) -> Step:
    live = open_sessions()
    accounts = User.objects.filter(is_active=True)
    if not dry_run:
        # Each account's session epoch bumped: every session, in every server process, ends.
        accounts.update(session_epoch=F("session_epoch") + 1)
    n = sum(live.values())
    return Step("sessions", "Fermer toutes les sessions", f"sessions ouvertes : {n} (comptes : {len(live)})", count=n)


def _logins(dry_run: bool, allowed: User | None) -> Step:
    # The refusal itself is the Lockdown row (hygie.incidents.lockdown.may_sign_in): nothing to change here.
    refused = User.objects.filter(is_active=True)
    if allowed is not None:
        refused = refused.exclude(pk=allowed.pk)
    by_role: dict[str, int] = {}
    for role in refused.values_list("role", flat=True):
        by_role[role] = by_role.get(role, 0) + 1
    labels = dict(Role.choices)
    items = [f"{labels.get(r, r)} : {n}" for r, n in sorted(by_role.items())]
    n = sum(by_role.values())
    who = (f" ; seul {allowed.username} se connecte (pages Incidents)" if allowed else
           " ; un administrateur désigné sur la machine (hygie incident allow) pourra se connecter")
    return Step("logins", "Refuser les nouvelles connexions", f"comptes refusés : {n}{who}", count=n, items=items)


def _downloads(dry_run: bool) -> Step:
    from hygie.audit.alerts import EXPORTS

    since = timezone.now() - timedelta(days=1)
    n = Event.objects.filter(action__in=EXPORTS, at__gte=since).count()
    return Step("downloads", "Refuser téléchargements, exports et archives",
                f"tous refusés (dernières 24 heures : {n})", count=n)


def _backups(dry_run: bool) -> Step:
    from hygie.backups.models import Target
    from hygie.backups.targets import locked_objects

    targets = list(Target.objects.filter(enabled=True).order_by("name"))
    stopped = [t.name for t in targets if not locked_objects(t)]
    kept = [t.name for t in targets if locked_objects(t)]
    effect = f"destinations arrêtées : {len(stopped)} ; "
    effect += f"à verrouillage des objets, continuent : {', '.join(kept)}" if kept else \
        "aucune destination à verrouillage des objets"
    return Step("backups", "Arrêter les sauvegardes non verrouillées et les tests de restauration",
                effect, count=len(stopped), items=stopped)


def _alert(dry_run: bool) -> Step:
    to = list(settings.ALERT_EMAIL)
    effect = "alerte grave au tableau de bord ; " + (f"e-mail, adresses : {len(to)}" if to else
                                                       "pas d'e-mail (HYGIE_ALERT_EMAIL vide)")
    return Step("alert", "Alerter", effect, count=len(to))


def lockdown_steps(*, dry_run: bool, allowed: User | None = None) -> list[Step]:
    """The switch's steps, in order; with `dry_run` nothing changes (an exercise).
    The Lockdown row (written by the caller) is what refuses logins, pages, downloads and
    backups; the alert is raised by the caller with the journal event it points to."""
    return [
        _timed(lambda: _sessions(dry_run)),
        _timed(lambda: _logins(dry_run, allowed)),
        _timed(lambda: _downloads(dry_run)),
        _timed(lambda: _backups(dry_run)),
        _timed(lambda: _alert(dry_run)),
    ]


def lift_steps(*, dry_run: bool, actor: Any, allowed_id: int | None) -> list[Step]:
    """The lift's steps, in order (same rule: `dry_run` changes nothing)."""

    def confirm() -> Step:
        others = User.objects.filter(is_active=True, role__in=[Role.ADMIN, Role.REFERENT])
        if actor is not None:
            others = others.exclude(pk=actor.pk)
        n = others.count()
        effect = ("administrateur ré-authentifié ; " + (f"autres administrateurs ou référents pouvant confirmer : {n}"
                  if n else "seul administrateur : pas de second confirmant")) if actor is not None \
            else "sur la machine (hygie incident lift) : pas de confirmation"
        return Step("confirm", "Ré-authentifier l'administrateur, faire confirmer", effect, count=n)

    def crisis_session() -> Step:
        if allowed_id is not None and not dry_run:
            User.objects.filter(pk=allowed_id).update(session_epoch=F("session_epoch") + 1)
        n = 1 if allowed_id is not None else 0
        return Step("crisis", "Fermer la session de crise", f"sessions de l'administrateur autorisé : {n}", count=n)

    def restore() -> Step:
        accounts = User.objects.filter(is_active=True).count()
        from hygie.backups.models import Target

        targets = Target.objects.filter(enabled=True).count()
        return Step("restore", "Rétablir le service",
                    f"comptes qui peuvent se reconnecter : {accounts} ; téléchargements et exports rétablis ; "
                    f"destinations de sauvegarde qui reprennent : {targets}", count=accounts)

    return [_timed(confirm), _timed(crisis_session), _timed(restore)]
