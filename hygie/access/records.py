"""Fetch protected objects for a user. The only door to patient data.

- `patient_scope(user)`: the patients a user may reach at all.
- `get_patient(user, public_id, cap)`: one patient, or 404 (outside scope) / 403 (role lacks cap).
- the same for consultations, documents, appointments and care sheets.

Views and commands call these; a test fails if anything else in `hygie/` queries the
patient models directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Aggregate,
    BooleanField,
    Count,
    Exists,
    JSONField,
    Max,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import JSONArray
from django.http import Http404
from django.utils import timezone

from hygie.access.policy import ASSISTANT_ROLES, Cap, Role, role_can
from hygie.agenda.models import Appointment
from hygie.billing.models import CareSheet, FavouriteAct
from hygie.core import frozen, onerow
from hygie.patients.models import (
    BreakGlassAccess,
    Consultation,
    ConsultationRevision,
    Document,
    HistoryRevision,
    Patient,
)


class OutOfScope(Http404):
    """A patient, or one of their objects, that exists but lies outside the user's scope.

    Answered like any 404 (the user learns nothing); since the request's transaction rolls back
    on it, hygie.web.middleware.OutOfScopeJournalMiddleware journals it afterwards
    (Ev.OUT_OF_SCOPE, with the patient's internal id) so that the alerts see probing.
    """

    def __init__(self, target: Any) -> None:
        super().__init__()
        self.target = target

if TYPE_CHECKING:
    from hygie.accounts.models import User
    from hygie.patients.models import CareTeamMember


def _active(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def practitioner_scope(user: Any, when: datetime | None = None) -> list[int]:
    """Ids of the titulaires whose patientèle this user works on, right now."""
    if not _active(user):
        return []
    when = when or timezone.now()
    if user.role == Role.TITULAIRE:
        return [user.pk]
    if user.role == Role.REMPLACANT:
        return list(
            user.replacements.filter(
                starts_at__lte=when, ends_at__gt=when, ended_early_at__isnull=True, titulaire__is_active=True
            )
            .values_list("titulaire_id", flat=True)
        )
    if user.role in (Role.SECRETAIRE, Role.FACTURATION):
        return list(user.assists.filter(is_active=True, role=Role.TITULAIRE).values_list("pk", flat=True))
    return []


def titulaires_reached_by(account: Any, when: datetime | None = None) -> list[int]:
    """Ids of the titulaires whose patients' medical data `account` reads, or would read once
    signed in, whatever its current role or state: its own patientèle (a titulaire, or a former
    one still on care teams, who could be given the role back) and the titulaires of its
    replacements not over yet. Whoever changes its credentials, or lets it sign in again, opens
    that data: hygie.approvals asks these titulaires first."""
    from hygie.patients.models import CareTeamMember

    when = when or timezone.now()
    reached: set[int] = set()
    if account.role == Role.TITULAIRE or CareTeamMember.objects.filter(practitioner_id=account.pk).exists():
        reached.add(account.pk)
    reached.update(
        account.replacements.filter(ends_at__gt=when, ended_early_at__isnull=True).values_list(
            "titulaire_id", flat=True
        )
    )
    return sorted(reached)


def patient_scope(user: Any) -> QuerySet[Patient]:
    """Patients of the care teams the user works for, plus live break-the-glass accesses.

    Records in the intermediate archive (RET-7, docs/retention.md) are left out for everyone,
    except those its titulaire opened with a reason (a live archive access)."""
    reach = _scope_values(user, practitioner_scope(user))
    if reach is None:
        return Patient.objects.none()
    args, options = reach
    return _scope_rows(*args, **options)


def _scope_values(user: Any, practitioners: list[int]) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """What `patient_scope` depends on, as values (`_scope_rows`' arguments and options, for
    hygie.core.frozen); None when the user reaches no patient at all."""
    practitioners = sorted(set(practitioners))
    now = timezone.now()
    granted: list[int] = []
    if _active(user) and role_can(user.role, Cap.BREAK_GLASS):
        # Compiled once per process (hygie.core.frozen): this runs for every list and search.
        granted = sorted(set(frozen.queryset(_live_break_glass_ids, user.pk, now)))
    if not practitioners and not granted:
        return None
    cutoff = archive_cutoff(now)
    opens_archive = _active(user) and role_can(user.role, Cap.RETENTION_MANAGE)
    return (practitioners, granted, user.pk, now, cutoff, cutoff.date()), {"opens_archive": opens_archive}


def _scope_rows(practitioners: list[int], granted: list[int], user_pk: int, now: datetime, cutoff: datetime,
                cutoff_day: date, *, opens_archive: bool) -> QuerySet[Patient]:
    if not granted and len(practitioners) == 1:
        # The common case, as a plain join: one care-team row per (patient, practitioner).
        scope = Patient.objects.filter(care_team__practitioner_id=practitioners[0])
    else:
        condition = Q(pk__in=_care_team_patients(practitioners)) | Q(pk__in=granted)
        scope = Patient.objects.filter(condition)
    # An emergency access (break-the-glass) reaches an archived record too: it was opened with a
    # reason, journaled and flagged, like an archive opening.
    hidden = _archived_at(cutoff, cutoff_day) & ~Q(pk__in=granted)
    if opens_archive:
        from hygie.retention.models import ArchiveAccess

        opened = _live(ArchiveAccess, user_pk, now).values("patient_id")
        hidden &= ~Q(pk__in=opened)
    return scope.exclude(hidden)


def _count_of_scope(*args: Any, **options: Any) -> dict[str, Any]:
    return {"patients_count": onerow.CountOf(_scope_rows(*args, **options).values("id"))}


def dashboard_reads(user: Any, day: date) -> dict[str, Any]:
    """For the dashboard's one-statement read (hygie.core.onerow), what the user may see of:
    whether `agenda_scope` has an appointment on `day` (any_appointment), how many care sheets of
    `billing_scope` are unpaid (unpaid), how many patients `patient_scope` gives (patients_count).
    The same decisions as those scopes, their SQL compiled once per process and shape
    (hygie.core.frozen), the user's practitioners read once."""
    practitioners = practitioner_scope(user)
    args, options = _assisted_values(user, practitioners)
    out: dict[str, Any] = {}
    if can(user, Cap.AGENDA_VIEW):
        out["any_appointment"] = Value(False)
        if args[0]:
            out.update(frozen.expressions(_appointments_on, *args, day, **options))
    if can(user, Cap.BILLING_VIEW):
        out["unpaid"] = Value(0)
        if args[0]:
            out.update(frozen.expressions(_unpaid_count, *args, **options))
    if can(user, Cap.PATIENT_LIST):
        reach = _scope_values(user, practitioners)
        out["patients_count"] = Value(0)
        if reach is not None:
            out.update(frozen.expressions(_count_of_scope, *reach[0], **reach[1]))
    return out


# --- Intermediate archive (RET-7) -----------------------------------------------------------

def archive_cutoff(now: datetime | None = None) -> datetime:
    """Records without an intervention since this moment are in the intermediate archive."""
    from hygie.lib.retention import add_years

    now = now or timezone.now()
    day = add_years(timezone.localdate(now), -int(settings.RETENTION_ACTIVE_YEARS))
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def archived_q(now: datetime | None = None) -> Q:
    """Patients in the intermediate archive: last intervention (retention state, computed from
    consultations and the declared last consultation) before the cutoff, and no consultation
    since — a new consultation brings a record back at once, before the state is recomputed."""
    cutoff = archive_cutoff(now)
    return _archived_at(cutoff, cutoff.date())


def _archived_at(cutoff: datetime, cutoff_day: date) -> Q:
    recent = Consultation.objects.filter(patient_id=OuterRef("pk"), date__gte=cutoff)
    # Q & ~Exists is a Q at run time; the stubs only know it as a Combinable.
    return cast(Q, Q(retention_state__last_intervention__lt=cutoff_day) & ~Exists(recent))


def is_archived(patient: Patient) -> bool:
    reach = patient.__dict__.get(_REACH)
    if reach is not None:  # measured by get_patient a moment ago, in this request
        return bool(reach.archived)
    return Patient.objects.filter(archived_q(), pk=patient.pk).exists()


def _archive_accesses(user: Any) -> QuerySet[Any]:
    from hygie.retention.models import ArchiveAccess

    if not _active(user) or not role_can(user.role, Cap.RETENTION_MANAGE):
        return ArchiveAccess.objects.none().values("patient_id")
    return _live(ArchiveAccess, user.pk, timezone.now()).values("patient_id")


def archive_candidates(user: Any) -> QuerySet[Patient]:
    """The "Archives" search of a titulaire: their own patients in the intermediate archive."""
    if not can(user, Cap.RETENTION_MANAGE):
        return Patient.objects.none()
    return Patient.objects.filter(care_team__practitioner_id=user.pk).filter(archived_q())


def find_archived_patient(user: Any, public_id: Any) -> Patient | None:
    return archive_candidates(user).filter(public_id=_parse(public_id)).first()


# --- Retention: one titulaire's patientèle, whole (archive included) ----------------------------
# For the retention pages of that titulaire, the daily job and the CLI acting on their behalf.

def patientele(practitioner: Any) -> QuerySet[Patient]:
    """Every patient of this titulaire's care teams, archived or not, with what retention needs:
    the last consultation (`last_consultation`) and the holds (prefetched)."""
    if practitioner is None or practitioner.role != Role.TITULAIRE:
        return Patient.objects.none()
    return _with_retention_data(Patient.objects.filter(care_team__practitioner_id=practitioner.pk))


def all_patients_for_retention() -> QuerySet[Patient]:
    """No user: the daily retention job recomputes every record's state."""
    return _with_retention_data(Patient.objects.all())


def retention_patients_by_id(ids: Any) -> QuerySet[Patient]:
    """No user: the records named by purge notices or a refresh, with retention data."""
    return _with_retention_data(Patient.objects.filter(pk__in=list(ids)))


def _with_retention_data(qs: QuerySet[Patient]) -> QuerySet[Patient]:
    return qs.annotate(last_consultation=Max("consultations__date")).prefetch_related("legal_holds")


_HOLDS = "hygie_legal_holds"
# What the record page needs of a hold (the retention decision, the "lift" links): no reason.
_HOLD_FIELDS = ("id", "public_id", "patient", "started_on", "ended_on", "created_at")


def legal_holds_read_with_patient(reader: Reader | None = None) -> dict[str, Any]:
    """For `get_patient(also=…)`: the record's legal holds (dates and ids, never the encrypted
    reason), read with the record as one JSON value instead of a query of their own."""
    from hygie.retention.models import LegalHold

    return {_HOLDS: _children_as_json(LegalHold.objects.filter(patient_id=OuterRef("pk")), _HOLD_FIELDS)}


def load_legal_holds(patient: Patient) -> None:
    """Make `patient.legal_holds.all()` free: from what `get_patient` read with the record
    (`legal_holds_read_with_patient`), otherwise in one query. Newest first, as LegalHold.Meta."""
    from hygie.retention.models import LegalHold

    read = patient.__dict__
    if _HOLDS not in read:
        prefetch_related_objects([patient], "legal_holds")
        return
    holds = _children_from_json(LegalHold, _HOLD_FIELDS, read.pop(_HOLDS))
    for hold in holds:
        hold._state.fields_cache["patient"] = patient
    holds.sort(key=lambda h: (h.started_on, h.created_at), reverse=True)
    cached: Any = patient.legal_holds.all()
    # What prefetch_related_objects leaves on the instance: a queryset already evaluated.
    cached._result_cache, cached._prefetch_done = holds, True
    read.setdefault("_prefetched_objects_cache", {})["legal_holds"] = cached


def _care_team_patients(practitioners: list[int]) -> QuerySet[CareTeamMember, Any]:
    from hygie.patients.models import CareTeamMember

    return CareTeamMember.objects.filter(practitioner_id__in=practitioners).values("patient_id")


def _live(model: type[_M], user_pk: int, now: datetime) -> QuerySet[_M]:
    """A user's accesses opened with a reason (break-the-glass, archive) still in force at `now`."""
    return model._default_manager.filter(user_id=user_pk, expires_at__gt=now)


def _live_break_glass_ids(user_pk: int, now: datetime) -> QuerySet[Any]:
    return _live(BreakGlassAccess, user_pk, now).values_list("patient_id", flat=True)


def require(user: Any, cap: Cap) -> None:
    """For pages that are not about one patient: 403 unless the role has the capability."""
    if not _active(user) or not role_can(user.role, cap):
        raise PermissionDenied


def can(user: Any, cap: Cap) -> bool:
    return _active(user) and role_can(user.role, cap)


def _parse(public_id: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(public_id))
    except (ValueError, TypeError):
        raise Http404 from None


# What get_patient learnt about one patient instance for one user, kept on that instance (which
# lives for one request): later checks of the same page (consultations_of, documents_of,
# is_break_glass, is_archived) reuse it instead of asking the database again.
_REACH = "_hygie_reach"


_CHECKS = frozenset({"hygie_in_team", "hygie_granted", "hygie_archived"})


class _Reach(NamedTuple):
    user_pk: int
    in_team: bool
    archived: bool


def _reached(user: Any, patient: Patient) -> _Reach | None:
    reach = patient.__dict__.get(_REACH)
    if reach is not None and _active(user) and reach.user_pk == user.pk:
        return cast(_Reach, reach)
    return None


class Reader(NamedTuple):
    """What a read made with the record (`get_patient(also=…)`) may depend on: the user's id and
    the ids of the titulaires they work for (the ORM gets them as parameters)."""

    user_pk: int
    practitioners: list[int]


# An extra read of the record page: named hygie_…, built from the Reader's values only.
ReadWithPatient = Callable[[Reader], dict[str, Any]]


def get_patient(user: Any, public_id: Any, cap: Cap, *, also: Sequence[ReadWithPatient] = ()) -> Patient:
    """The same decision as `patient_scope(user).filter(public_id=…)`, in one query for the
    common case: the row, whether the user's care teams hold it and whether a live
    break-the-glass access grants it (two EXISTS), then whether it is archived (and, only then,
    opened by a live archive access).

    `also`: reads a page wants made with the row, in the same query (each returns annotations
    named "hygie_…", e.g. `restrictions_read_with_patient`). They are computed for the one row
    found and reach the caller only once the row has passed every check above.

    The query is compiled by the ORM once per process and shape (hygie.core.frozen): its
    compilation cost more than running it, on the page opened most often."""
    return _reach(user, _parse(public_id), cap, tuple(also), by="public_id")


def _reach(user: Any, wanted: Any, cap: Cap, also: tuple[ReadWithPatient, ...], *, by: str) -> Patient:
    """get_patient's decision for the patient whose `by` ("public_id" or "pk") is `wanted`."""
    # Sorted and without repeats: the ORM's IN (…) drops repeats, and the list's length is part
    # of the frozen shape.
    practitioners = sorted(set(practitioner_scope(user)))
    may_break_glass = _active(user) and role_can(user.role, Cap.BREAK_GLASS)
    now = timezone.now()
    cutoff = archive_cutoff(now)
    query = frozen.queryset(
        _patient_row, wanted, practitioners, user.pk if _active(user) else 0, now, cutoff, cutoff.date(),
        may_break_glass=may_break_glass, also=also, by=by,
    )
    patient: Patient | None = next(iter(query), None)
    if patient is None:
        raise Http404
    found = patient.__dict__
    team, grant = bool(found.pop("hygie_in_team")), bool(found.pop("hygie_granted"))
    archived = bool(found.pop("hygie_archived"))
    if not (team or grant):
        raise OutOfScope(patient)
    if archived and not grant and not _archive_accesses(user).filter(patient_id=patient.pk).exists():
        raise OutOfScope(patient)
    if not role_can(user.role, cap):
        raise PermissionDenied
    patient.__dict__[_REACH] = _Reach(user.pk, team, archived)
    return patient


def _patient_row(wanted: Any, practitioners: list[int], user_pk: int, now: datetime, cutoff: datetime,
                 cutoff_day: date, *, may_break_glass: bool, also: tuple[ReadWithPatient, ...],
                 by: str) -> QuerySet[Patient]:
    """get_patient's query: the values only as parameters (hygie.core.frozen)."""
    false = Value(False, output_field=BooleanField())
    in_team: Any = false
    if practitioners:
        in_team = Exists(_care_team_patients(practitioners).filter(patient_id=OuterRef("pk")))
    granted: Any = false
    if may_break_glass:
        granted = Exists(_live(BreakGlassAccess, user_pk, now).filter(patient_id=OuterRef("pk")))
    archived_now = Exists(Patient.objects.filter(_archived_at(cutoff, cutoff_day), pk=OuterRef("pk")))
    extra: dict[str, Any] = {}
    reader = Reader(user_pk, practitioners)
    for read in also:
        extra.update(read(reader))
    if any(not name.startswith("hygie_") or name in _CHECKS for name in extra):
        raise ValueError("get_patient: annotations are named hygie_… and never replace a check")
    return (
        Patient.objects.filter(**{by: wanted})
        .with_keys()
        .annotate(
            hygie_in_team=in_team,
            hygie_granted=granted,
            hygie_archived=archived_now,
            # The retention date's last visit (hygie.retention.actions.last_visit), same query.
            last_consultation=_last_consultation(),
            **extra,
        )[:1]
    )


def _last_consultation() -> Subquery:
    from hygie.patients.models import Consultation

    latest = Consultation.objects.filter(patient_id=OuterRef("pk")).order_by("-date").values("date")[:1]
    return Subquery(latest)


class _RowsAsJSON(Aggregate):
    """The rows of a group as one JSON array of arrays (PostgreSQL jsonb_agg, SQLite
    json_group_array): a few plain columns of a patient's child rows read with the patient row."""

    function = "JSONB_AGG"
    output_field = JSONField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra)


_M = TypeVar("_M", bound=Model)


def _children_as_json(children: QuerySet[Any], fields: tuple[str, ...]) -> Subquery:
    """For `get_patient(also=…)`: `fields` (plain columns only, never an encrypted one) of the
    `children` rows of the patient (`children` filtered on patient_id=OuterRef("pk")), as one
    JSON value in the patient's row; NULL when there is none."""
    rows = children.order_by().values("patient_id").annotate(hygie_rows=_RowsAsJSON(JSONArray(*fields)))
    return Subquery(rows.values("hygie_rows")[:1], output_field=JSONField())


def _children_from_json(model: type[_M], fields: tuple[str, ...], read: Any) -> list[_M]:
    """The instances of `_children_as_json`'s rows: the fields read, converted as the database
    backend would; every other field is deferred (read from the database if ever accessed)."""
    from django.db import connection
    from django.utils.dateparse import parse_datetime

    named: list[Any] = [model._meta.get_field(name) for name in fields]
    out = []
    for row in read or []:
        found: dict[str, Any] = {}
        for field, raw in zip(named, row, strict=True):
            if raw is not None and field.get_internal_type() == "DateTimeField":
                # SQLite keeps "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC, PostgreSQL an ISO offset.
                moment = parse_datetime(raw)
                if moment is not None and timezone.is_naive(moment):
                    moment = timezone.make_aware(moment, UTC)
                found[field.attname] = moment
            else:
                found[field.attname] = field.to_python(raw)
        # Model.from_db wants the values in the order of the model's concrete fields.
        attnames = [f.attname for f in model._meta.concrete_fields if f.attname in found]
        out.append(model.from_db(connection.alias, attnames, [found[name] for name in attnames]))
    return out


def _recheck(user: Any, patient: Patient, cap: Cap) -> None:
    """`get_patient` again for a patient instance of this request: free when get_patient
    fetched it for this user (only the role is checked against `cap`)."""
    if _reached(user, patient) is None:
        get_patient(user, patient.public_id, cap)
    elif not role_can(user.role, cap):
        raise PermissionDenied


def is_break_glass(user: Any, patient: Patient) -> bool:
    """True when the user reaches this patient only through a break-the-glass access."""
    reach = _reached(user, patient)
    if reach is not None:
        return not reach.in_team
    practitioners = practitioner_scope(user)
    return not patient.care_team.filter(practitioner_id__in=practitioners).exists()


def find_patient_outside_scope(user: Any, public_id: Any) -> Patient | None:
    """For the break-the-glass page only: a practice patient this titulaire may open with a reason."""
    if not can(user, Cap.BREAK_GLASS):
        return None
    return Patient.objects.filter(public_id=_parse(public_id)).first()


def break_glass_candidates(user: Any) -> QuerySet[Patient]:
    """Patients of the practice a titulaire may search before opening one with a reason."""
    if not can(user, Cap.BREAK_GLASS):
        return Patient.objects.none()
    return Patient.objects.all()


def restore_test_documents(limit: int) -> list[Document]:
    """No user: the restore test (hygie.backups.restore.check_restored), inside the scratch copy
    it has just restored, decrypts these to prove the documents open. Nobody sees their content."""
    return list(Document.objects.select_related("patient").order_by("?")[:limit])


def document_blobs_in_use(names: Iterable[str]) -> set[str]:
    """Which of these blob names a Document row names. No user: the orphan cleanup
    (hygie.patients.jobs) asks it of blob names only, and learns nothing of any patient."""
    return set(Document.objects.filter(storage_name__in=list(names)).values_list("storage_name", flat=True))


_Child = TypeVar("_Child", Consultation, Document)


def _child(user: Any, model: type[_Child], public_id: Any, cap: Cap) -> _Child:
    """A consultation or a document, once its patient passed `get_patient`'s checks (the same
    decision as `patient_scope`); the patient reached is kept on it, for the page's later checks."""
    obj: _Child | None = next(iter(frozen.queryset(_child_row, _parse(public_id), model=model)), None)
    if obj is None:
        raise Http404
    try:
        patient = _reach(user, obj.patient_id, cap, (), by="pk")
    except OutOfScope:
        raise OutOfScope(obj) from None
    obj.patient = patient
    return obj


def _child_row(wanted: uuid.UUID, *, model: type[_Child]) -> QuerySet[_Child]:
    return model.objects.filter(public_id=wanted)[:1]


def get_consultation(user: Any, public_id: Any, cap: Cap = Cap.MEDICAL_VIEW) -> Consultation:
    return _child(user, Consultation, public_id, cap)


def get_document(user: Any, public_id: Any, cap: Cap = Cap.MEDICAL_VIEW) -> Document:
    return _child(user, Document, public_id, cap)


ReadWithConsultations = Callable[[Reader], dict[str, Any]]


def consultations_of(user: Any, patient: Patient, *, also: Sequence[ReadWithConsultations] = ()) -> list[Consultation]:
    """With `revision_count`: more than one means the consultation was changed after it was written.
    `also`: reads made with each consultation, as get_patient's (e.g. the user's draft of it).
    The rows of the record page: by frozen queries (hygie.core.frozen), like the ones below."""
    _recheck(user, patient, Cap.MEDICAL_VIEW)
    return _of_patient(patient, frozen.queryset(_consultation_rows, patient.pk, user.pk, also=tuple(also)))


def _consultation_rows(patient_pk: int, user_pk: int, *, also: tuple[ReadWithConsultations, ...]) -> QuerySet[Any]:
    extra: dict[str, Any] = {}
    for read in also:
        extra.update(read(Reader(user_pk, [])))  # the user's id only: no read here needs more
    return (
        Consultation.objects.filter(patient_id=patient_pk)
        .select_related("practitioner")
        .annotate(revision_count=Count("revisions"), **extra)
    )


def _of_patient(patient: Patient, rows: Iterable[_M]) -> list[_M]:
    """The rows of one patient's child table, each knowing its patient (as from patient.<children>)."""
    out = list(rows)
    for row in out:
        row._state.fields_cache["patient"] = patient
    return out


def consultation_revisions(user: Any, consultation: Consultation) -> list[ConsultationRevision]:
    """Every version of a consultation, newest first, for whoever may read it."""
    get_consultation(user, consultation.public_id, Cap.MEDICAL_VIEW)
    return list(ConsultationRevision.objects.filter(consultation=consultation).select_related("author"))


def history_revisions(user: Any, patient: Patient) -> list[HistoryRevision]:
    """Every version of a patient's antécédents, newest first, for whoever may read them."""
    _recheck(user, patient, Cap.MEDICAL_VIEW)
    return _of_patient(patient, frozen.queryset(_history_rows, patient.pk))


def _history_rows(patient_pk: int) -> QuerySet[HistoryRevision]:
    return HistoryRevision.objects.filter(patient_id=patient_pk).select_related("author")


class TeamMember(NamedTuple):
    practitioner: User
    added_at: datetime


def care_team_of(user: Any, patient: Patient, *, with_candidates: bool) -> tuple[list[TeamMember], list[User]]:
    """The patient's care team (oldest member first) and, with `with_candidates`, the active
    titulaires who could join it, in one query on the accounts: the team's practitioners carry
    the date they joined (a correlated subquery), the others are the candidates."""

    _recheck(user, patient, Cap.MEDICAL_VIEW)
    team: list[TeamMember] = []
    candidates: list[User] = []
    for account in frozen.queryset(_care_team_rows, patient.pk, with_candidates=with_candidates):
        added_at = account.__dict__.pop("hygie_joined")
        if added_at is not None:
            team.append(TeamMember(account, added_at))
        else:
            candidates.append(account)
    team.sort(key=lambda m: (m.added_at, m.practitioner.pk))
    return team, candidates


def _care_team_rows(patient_pk: int, *, with_candidates: bool) -> QuerySet[User]:
    from hygie.accounts.models import User
    from hygie.patients.models import CareTeamMember

    members = CareTeamMember.objects.filter(patient_id=patient_pk)
    wanted = Q(pk__in=members.values("practitioner_id"))
    if with_candidates:
        wanted |= Q(role=Role.TITULAIRE, is_active=True)
    joined = Subquery(members.filter(practitioner_id=OuterRef("pk")).values("added_at")[:1])
    return User.objects.annotate(hygie_joined=joined).filter(wanted)


def documents_of(user: Any, patient: Patient) -> list[Document]:
    _recheck(user, patient, Cap.MEDICAL_VIEW)
    return _of_patient(patient, frozen.queryset(_document_rows, patient.pk))


def _document_rows(patient_pk: int) -> QuerySet[Document]:
    return Document.objects.filter(patient_id=patient_pk).select_related("uploaded_by")


# --- Agenda ------------------------------------------------------------------------------

def agenda_scope(user: Any) -> QuerySet[Appointment]:
    """Appointments of the practitioners the user works for (not break-the-glass patients)."""
    if not can(user, Cap.AGENDA_VIEW):
        return Appointment.objects.none()
    args, options = _assisted_values(user, practitioner_scope(user))
    return _agenda_rows(*args, **options)


def _assisted_values(user: Any, practitioners: list[int]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """What the agenda's and the billing's scopes depend on, as values (hygie.core.frozen)."""
    cutoff = archive_cutoff()
    return (sorted(set(practitioners)), cutoff, cutoff.date()), {"assistant": user.role in ASSISTANT_ROLES}


def _agenda_rows(practitioners: list[int], cutoff: datetime, cutoff_day: date, *,
                 assistant: bool) -> QuerySet[Appointment]:
    appointments = Appointment.objects.filter(practitioner_id__in=practitioners)
    if assistant:
        # RET-7: archived records leave the agenda of the secretary and the billing clerk.
        appointments = appointments.exclude(patient__in=_archived_at_cutoff(cutoff, cutoff_day))
    return appointments.select_related("patient", "practitioner")


def _appointments_on(practitioners: list[int], cutoff: datetime, cutoff_day: date, day: date, *,
                     assistant: bool) -> dict[str, Any]:
    return {"any_appointment": Exists(_agenda_rows(practitioners, cutoff, cutoff_day, assistant=assistant)
                                      .filter(start__date=day))}


def _appointments_of_day(practitioners: list[int], cutoff: datetime, cutoff_day: date, day: date, *,
                         assistant: bool) -> QuerySet[Appointment]:
    return _agenda_rows(practitioners, cutoff, cutoff_day, assistant=assistant).filter(start__date=day).order_by(
        "start")[:DAY_LIST_LIMIT]


DAY_LIST_LIMIT = 30


def agenda_of_day(user: Any, day: date) -> list[Appointment]:
    """The first DAY_LIST_LIMIT appointments of `agenda_scope(user)` on `day`, in time order (the
    dashboard's « aujourd'hui »): the same scope, its SQL compiled once per process and shape."""
    if not can(user, Cap.AGENDA_VIEW):
        return []
    args, options = _assisted_values(user, practitioner_scope(user))
    if not args[0]:
        return []  # no practitioner: agenda_scope is empty
    return list(frozen.queryset(_appointments_of_day, *args, day, **options))




def _archived_for(user: Any, patient_id: int) -> bool:
    """An assistant does not reach the appointments and care sheets of archived records."""
    return user.role in ASSISTANT_ROLES and Patient.objects.filter(archived_q(), pk=patient_id).exists()


def _archived_at_cutoff(cutoff: datetime, cutoff_day: date) -> QuerySet[Any]:
    return Patient.objects.filter(_archived_at(cutoff, cutoff_day)).values("pk")


def get_appointment(user: Any, public_id: Any, cap: Cap = Cap.AGENDA_VIEW) -> Appointment:
    appt = Appointment.objects.filter(public_id=_parse(public_id)).first()
    if appt is None:
        raise Http404
    if appt.practitioner_id not in practitioner_scope(user) or _archived_for(user, appt.patient_id):
        raise OutOfScope(appt)
    if not role_can(user.role, cap):
        raise PermissionDenied
    return appt


def agenda_practitioners(user: Any) -> QuerySet[User]:
    from hygie.accounts.models import User

    return User.objects.filter(pk__in=practitioner_scope(user))


def agenda_patients(user: Any, practitioner: Any) -> QuerySet[Patient]:
    """The patients an appointment with `practitioner` may be booked for, as the patient picker
    searches them: the user's scope, narrowed to that practitioner's patientèle (never another
    practitioner's patients, even those the user also reaches). Nothing without AGENDA_EDIT or
    for a practitioner outside the user's agenda."""
    if practitioner is None or not can(user, Cap.AGENDA_EDIT) or practitioner.pk not in practitioner_scope(user):
        return Patient.objects.none()
    return patient_scope(user).filter(care_team__practitioner_id=practitioner.pk)


# --- Billing -----------------------------------------------------------------------------

def billing_scope(user: Any) -> QuerySet[CareSheet]:
    if not can(user, Cap.BILLING_VIEW):
        return CareSheet.objects.none()
    args, options = _assisted_values(user, practitioner_scope(user))
    return _billing_rows(*args, **options)


def _billing_rows(practitioners: list[int], cutoff: datetime, cutoff_day: date, *,
                  assistant: bool) -> QuerySet[CareSheet]:
    sheets = CareSheet.objects.filter(practitioner_id__in=practitioners)
    if assistant:
        sheets = sheets.exclude(patient__in=_archived_at_cutoff(cutoff, cutoff_day))
    return sheets.select_related("patient", "practitioner")


def _unpaid_count(*args: Any, **options: Any) -> dict[str, Any]:
    return {"unpaid": onerow.CountOf(_billing_rows(*args, **options).filter(paid=False).values("id"))}




def get_care_sheet(user: Any, public_id: Any, cap: Cap = Cap.BILLING_VIEW) -> CareSheet:
    sheet = CareSheet.objects.filter(public_id=_parse(public_id)).first()
    if sheet is None:
        raise Http404
    if sheet.practitioner_id not in practitioner_scope(user) or _archived_for(user, sheet.patient_id):
        raise OutOfScope(sheet)
    if not role_can(user.role, cap):
        raise PermissionDenied
    return sheet


def billing_patient_label(user: Any, patient: Patient) -> str:
    """What the billing screens show for a patient: a name only to those allowed to see it."""
    if can(user, Cap.BILLING_SEES_NAMES):
        return patient.display_name
    return patient.code


def billing_patients(user: Any) -> QuerySet[Patient]:
    """Patients a care sheet may be written for."""
    if not can(user, Cap.BILLING_EDIT):
        return Patient.objects.none()
    return Patient.objects.filter(pk__in=_care_team_patients(practitioner_scope(user))).exclude(archived_q())


def favourite_acts(user: Any) -> QuerySet[FavouriteAct]:
    """The usual acts of the practitioners the user bills for (tariffs, no patient data)."""
    if not can(user, Cap.BILLING_EDIT):
        return FavouriteAct.objects.none()
    return FavouriteAct.objects.filter(practitioner_id__in=practitioner_scope(user)).select_related("practitioner")


def get_favourite_act(user: Any, public_id: Any) -> FavouriteAct:
    require(user, Cap.BILLING_EDIT)
    favourite = favourite_acts(user).filter(public_id=_parse(public_id)).first()
    if favourite is None:
        raise Http404
    return favourite


# --- Journal -----------------------------------------------------------------------------
# The referent and the administrator see patients in the journal under their pseudonymous code
# only: never a name, never medical content.

def journal_patient_id(user: Any, code: str) -> int | None:
    """The internal id behind a patient code, to filter the journal; None if there is none."""
    require(user, Cap.JOURNAL_VIEW)
    return Patient.objects.filter(code=code.strip().upper()).values_list("pk", flat=True).first()


def break_glass_reasons(user: Any, access_ids: Any) -> dict[str, str]:
    """{access public id: reason} of break-the-glass accesses, for the referent who reviews them.
    The reasons are free text, possibly clinical: the administrator, who also reads the journal,
    gets {} and the pages say "motif masqué". The journal itself only points to the access row;
    an erased patient's accesses are gone with their data key."""
    from hygie.retention.models import ArchiveAccess

    require(user, Cap.JOURNAL_VIEW)
    if not can(user, Cap.BREAK_GLASS_REVIEW):
        return {}
    wanted = [_parse(a) for a in access_ids if a]
    found = {str(a.public_id): a.reason for a in BreakGlassAccess.objects.filter(public_id__in=wanted)}
    # Archived records opened with a reason (docs/retention.md) are reviewed the same way.
    found.update({str(a.public_id): a.reason for a in ArchiveAccess.objects.filter(public_id__in=wanted)})
    return found


def reads_break_glass_reasons(user: Any, patient: Patient) -> bool:
    """Whether this user may read the reasons of break-the-glass accesses to this patient: the
    referent (who reviews them) and the patient's own titulaires (care team, not an exceptional
    access). Not the remplaçant, the assistants, nor the administrator."""
    if not _active(user):
        return False
    if role_can(user.role, Cap.BREAK_GLASS_REVIEW):
        return True
    return user.role == Role.TITULAIRE and patient.care_team.filter(practitioner_id=user.pk).exists()


def journal_patient_codes(user: Any, ids: Any) -> dict[int, str]:
    """{internal id: code} for the patients named by journal rows (erased patients are absent)."""
    require(user, Cap.JOURNAL_VIEW)
    return dict(Patient.objects.filter(pk__in=[i for i in ids if i is not None]).values_list("pk", "code"))


def get_patient_for_retention(user: Any, public_id: Any) -> Patient:
    """A patient of the titulaire's own patientèle, archived or not (a claim may come years
    later): 404 outside reach, 403 for a role without retention:manage."""
    wanted = _parse(public_id)
    patient = None
    if can(user, Cap.RETENTION_MANAGE):
        patient = patientele(user).filter(public_id=wanted).first()
    if patient is None:
        if patient_scope(user).filter(public_id=wanted).exists():
            raise PermissionDenied
        raise Http404
    return patient


def get_hold(user: Any, public_id: Any) -> Any:
    from hygie.retention.models import LegalHold

    hold = LegalHold.objects.select_related("patient").filter(public_id=_parse(public_id)).first()
    if hold is None:
        raise Http404
    get_patient_for_retention(user, hold.patient.public_id)
    return hold


def retention_overview(user: Any, months: list[Any]) -> dict[str, Any]:
    """Counts for the "Conservation" page: records expiring in each month, holds in force.
    A titulaire sees their patientèle; the referent the whole practice, in numbers only."""
    from django.db.models.functions import TruncMonth

    from hygie.retention.models import LegalHold, RetentionState

    require(user, Cap.RETENTION_COUNTS)
    if can(user, Cap.RETENTION_MANAGE):
        states = RetentionState.objects.filter(patient__care_team__practitioner_id=user.pk)
        holds = LegalHold.objects.filter(patient__care_team__practitioner_id=user.pk, ended_on__isnull=True)
    else:
        states = RetentionState.objects.all()
        holds = LegalHold.objects.filter(ended_on__isnull=True)
    first, last = months[0], months[-1]
    by_month = dict(
        states.filter(expires_on__gte=first, expires_on__lt=last)
        .annotate(month=TruncMonth("expires_on"))
        .values_list("month")
        .annotate(n=Count("pk"))
        .values_list("month", "n")
    )
    return {
        "by_month": by_month,
        "overdue": states.filter(expires_on__lt=first).count(),
        "held": states.filter(expires_on__isnull=True).count(),
        "records": states.count(),
        "holds": holds,
    }


# --- Incidents (docs/incidents.md) ----------------------------------------------------------

def incident_patient_codes(user: Any, ids: Any) -> dict[int, str]:
    """{internal id: pseudonymous code} of the patients an incident concerns (pre-filled from the
    journal), for whoever keeps the register: codes, never names."""
    require(user, Cap.INCIDENT_MANAGE)
    return dict(Patient.objects.filter(pk__in=[int(i) for i in ids]).values_list("pk", "code"))


def incident_notice_patients(user: Any, ids: Any) -> QuerySet[Patient]:
    """The patients concerned by an incident whom this user may write to (art. 34 letters): within
    the user's own scope only, so a titulaire writes to their patients and to no one else's."""
    require(user, Cap.INCIDENT_MANAGE)
    require(user, Cap.PATIENT_IDENTITY_VIEW)
    return patient_scope(user).filter(pk__in=[int(i) for i in ids])


def incident_other_names(user: Any, ids: Any, but: int) -> list[str]:
    """Names of the other patients concerned, never shown: only to check that a letter's texts do
    not name them (hygie.incidents.notices.names_in)."""
    require(user, Cap.INCIDENT_MANAGE)
    out: list[str] = []
    for p in Patient.objects.filter(pk__in=[int(i) for i in ids if int(i) != but]):
        out += [p.birth_name, p.usage_name]
    return [n for n in out if n]
# --- Patients' rights (docs/rights.md) ----------------------------------------------------------
# The register of a titulaire's patientèle: the titulaire answers, the secretary records; the
# referent watches the deadlines in codes only. A request outlives an erased record: its
# titulaire (`practitioner`) is its scope.

def rights_requests(user: Any) -> QuerySet[Any]:
    from hygie.rights.models import RightsRequest

    if not can(user, Cap.RIGHTS_RECORD):
        return RightsRequest.objects.none()
    return RightsRequest.objects.filter(practitioner_id__in=practitioner_scope(user)).select_related("patient")


def get_rights_request(user: Any, public_id: Any, cap: Cap) -> Any:
    """One request: 404 outside the user's patientèles, 403 for a role without `cap`."""
    from hygie.rights.models import RightsRequest

    request = RightsRequest.objects.select_related("patient").filter(public_id=_parse(public_id)).first()
    if request is None:
        raise Http404
    if request.practitioner_id not in practitioner_scope(user):
        if request.patient is not None:
            raise OutOfScope(request.patient)
        raise Http404
    if not role_can(user.role, cap):
        raise PermissionDenied
    return request


_RIGHTS = "hygie_rights_requests"
# What the rights panel of the record page shows of a request: no encrypted field.
_RIGHTS_FIELDS = ("id", "public_id", "patient", "practitioner", "right", "received_at", "due_on", "status")


def rights_requests_read_with_patient(reader: Reader) -> dict[str, Any]:
    """For `get_patient(also=…)`, for a user who may record rights requests (the caller checks
    it): the patient's requests in the user's register (the same rows as `rights_requests`),
    read with the record as one JSON value for the rights panel."""
    from hygie.rights.models import RightsRequest

    mine = RightsRequest.objects.filter(patient_id=OuterRef("pk"), practitioner_id__in=reader.practitioners)
    return {_RIGHTS: _children_as_json(mine, _RIGHTS_FIELDS)}


def rights_requests_of(user: Any, patient: Patient) -> list[Any]:
    """The requests of one patient the user has already reached (patient page), newest first:
    those `get_patient` read with the record for this user when asked to
    (`rights_requests_read_with_patient`), otherwise in one query."""
    from hygie.rights.models import RightsRequest

    read = patient.__dict__
    if _RIGHTS in read and _reached(user, patient) is not None and can(user, Cap.RIGHTS_RECORD):
        requests = _children_from_json(RightsRequest, _RIGHTS_FIELDS, read[_RIGHTS])
        for request in requests:
            request._state.fields_cache["patient"] = patient
        return sorted(requests, key=lambda r: (r.received_at, r.pk), reverse=True)
    return list(rights_requests(user).filter(patient=patient).order_by("-received_at", "-pk"))


def rights_deadlines(user: Any) -> QuerySet[Any]:
    """Open requests, for the dashboard: a titulaire's own; every one for the referent, who is
    shown their codes only."""
    from hygie.rights.models import RightsRequest

    if not can(user, Cap.RIGHTS_WATCH):
        return RightsRequest.objects.none()
    return _open_rights(user.pk, titulaire=user.role == Role.TITULAIRE)


def _open_rights(user_id: int, *, titulaire: bool) -> QuerySet[Any]:
    from hygie.rights.models import RightsRequest, Status

    open_requests = RightsRequest.objects.filter(status=Status.OPEN)
    return open_requests.filter(practitioner_id=user_id) if titulaire else open_requests


def _any_open_rights(user_id: int, *, titulaire: bool) -> dict[str, Any]:
    return {"rights_open": Exists(_open_rights(user_id, titulaire=titulaire))}


def rights_deadlines_reads(user: Any) -> dict[str, Any]:
    """Whether `rights_deadlines(user)` has any request (rights_open), for the dashboard's
    one-statement read (hygie.core.onerow), compiled once per process (hygie.core.frozen)."""
    if not can(user, Cap.RIGHTS_WATCH):
        return {"rights_open": Value(False)}
    return dict(frozen.expressions(_any_open_rights, user.pk, titulaire=user.role == Role.TITULAIRE))


def all_rights_requests() -> QuerySet[Any]:
    """No user: the compliance pack counts the answers (codes and dates only: hygie.rights.pack)."""
    from hygie.rights.models import RightsRequest

    return RightsRequest.objects.all()


def get_restriction(user: Any, public_id: Any) -> Any:
    from hygie.rights.models import RecordRestriction

    restriction = RecordRestriction.objects.select_related("patient").filter(public_id=_parse(public_id)).first()
    if restriction is None:
        raise Http404
    get_patient(user, restriction.patient.public_id, Cap.RIGHTS_ANSWER)
    return restriction


def restrictions_in_force(patient: Patient) -> QuerySet[Any]:
    """No user: whether a processing may run on this record (hygie.rights.restrictions)."""
    from hygie.rights.models import RecordRestriction

    return RecordRestriction.objects.filter(patient=patient, lifted_at__isnull=True)


_BLOCKED = "hygie_blocked_"


def restrictions_read_with_patient(reader: Reader | None = None) -> dict[str, Any]:
    """For `get_patient(also=…)`: whether each processing is blocked on the record right now,
    read with the record (one EXISTS per processing) for the rights panel of the record page."""
    from hygie.rights.models import Processing, RecordRestriction

    return {
        f"{_BLOCKED}{value}": Exists(
            RecordRestriction.objects.filter(patient_id=OuterRef("pk"), processing=value, lifted_at__isnull=True)
        )
        for value in Processing.values
    }


def blocked_processings(patient: Patient) -> list[str]:
    """The processings blocked on this record: read with the record when `get_patient` was
    asked to (`restrictions_read_with_patient`), otherwise now."""
    from hygie.rights.models import Processing

    read = patient.__dict__
    if all(f"{_BLOCKED}{value}" in read for value in Processing.values):
        return [value for value in Processing.values if read[f"{_BLOCKED}{value}"]]
    found = set(restrictions_in_force(patient).values_list("processing", flat=True))
    return [value for value in Processing.values if value in found]


def record_material(user: Any, patient: Patient) -> dict[str, Any]:
    """Everything the rights exports put in a patient's copy, for a user who may answer for them:
    consultations, antécédents and their versions, documents, appointments."""
    get_patient(user, patient.public_id, Cap.RIGHTS_ANSWER)
    get_patient(user, patient.public_id, Cap.MEDICAL_VIEW)
    return {
        "consultations": list(patient.consultations.select_related("practitioner").order_by("date")),
        "history_revisions": list(HistoryRevision.objects.filter(patient=patient).select_related("author")),
        "documents": list(patient.documents.order_by("created_at")),
        "appointments": list(Appointment.objects.filter(patient=patient).select_related("practitioner")),
        "care_team": [m.practitioner for m in patient.care_team.select_related("practitioner")],
    }


def patient_by_code(user: Any, code: str, cap: Cap) -> Patient:
    """A patient of the user's scope by pseudonymous code (the command line): 404 otherwise."""
    patient = patient_scope(user).filter(code=(code or "").strip().upper()).first()
    if patient is None:
        raise Http404
    if not role_can(user.role, cap):
        raise PermissionDenied
    return patient
