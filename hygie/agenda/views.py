"""The agenda: a week grid (or a day, practitioners side by side) and the appointment forms.
Fetch through hygie.access.records,
change through hygie.agenda.actions."""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hygie.access import records
from hygie.access.policy import Cap
from hygie.agenda import actions, forms
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.core.readviews import read_page
from hygie.lib import agendagrid
from hygie.lib.text import fold
from hygie.patients.search import parse as parse_query
from hygie.patients.search import search
from hygie.web.forms import show_refusal

# The picker lists at most this many patients; more: « précisez ».
PICKER_LIMIT = 20


VIEWS = ("semaine", "jour")


def _agenda_url(day: date, practitioner: Any = None, view: str = "") -> str:
    query = {"jour": day.isoformat()}
    if practitioner is not None:
        query["praticien"] = str(practitioner.public_id)
    if view:
        query["vue"] = view
    return f"{reverse('agenda')}?{urlencode(query)}"


def _pick(practitioners: list[Any], public_id: str | None) -> Any:
    """The practitioner of ?praticien=, among those of the user's agenda; 404 otherwise."""
    if not public_id:
        return None
    for p in practitioners:
        if str(p.public_id) == public_id:
            return p
    raise Http404


def _step() -> int:
    return int(settings.AGENDA_SLOT_MINUTES)


@login_required
@require_GET
@read_page
def agenda(request: HttpRequest) -> HttpResponse:
    """A practitioner's week (one column per day), or a day with the practitioners side by side
    (one column each: the secretary's view). Free slots link to the booking form."""
    user = request.user
    records.require(user, Cap.AGENDA_VIEW)
    today = timezone.localdate()
    day = forms.parse_day(request.GET.get("jour")) or today
    practitioners = sorted(records.agenda_practitioners(user), key=lambda p: fold(p.display_name))
    selected = _pick(practitioners, request.GET.get("praticien"))
    view = request.GET.get("vue")
    if view not in VIEWS:
        # One agenda: its week. Several and none chosen: the day, side by side.
        view = "jour" if len(practitioners) > 1 and selected is None else "semaine"
    if view == "semaine" and selected is None and practitioners:
        selected = practitioners[0]
    shown = [selected] if selected is not None else practitioners
    if view == "semaine":
        days = agendagrid.week_of(day)
        columns = [agendagrid.Column((selected.pk, d), d) for d in days]
        first, last = days[0], days[-1]
    else:
        columns = [agendagrid.Column((p.pk, day), day) for p in shown]
        first = last = day
    start = timezone.make_aware(datetime.combine(first, time.min))
    end = timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min))
    found = records.agenda_scope(user).filter(
        start__gte=start, start__lt=end, practitioner_id__in=[p.pk for p in shown]
    )
    appointments = list(found.order_by("start"))
    busy: dict[Any, list[agendagrid.Busy]] = {}
    for a in appointments:
        busy.setdefault((a.practitioner_id, timezone.localdate(a.start)), []).append(
            agendagrid.Busy(a.start, a.start + timedelta(minutes=a.duration_minutes), a)
        )
    # The practice's time zone read once, not at each of the grid's ~250 slots.
    tz = timezone.get_current_timezone()
    rows = agendagrid.build(
        columns, busy, hours=settings.OPENING_HOURS, now=timezone.now(),
        make_aware=functools.partial(timezone.make_aware, timezone=tz), step=_step()
    )
    by_pk = {p.pk: p for p in practitioners}
    # The cells are written by hygie/agenda/templatetags/agenda_grid.py.
    # Only free slots link to the booking form (the template shows the link there alone): a week
    # has hundreds of cells, so the form's address is reversed once, not once per cell.
    booking = reverse("appointment_create")
    # The same for the labels of the free slots' links: each day's and each time's text
    # formatted once (the template's |date and |time filters, here), not once per cell.
    day_labels = {c: formats.date_format(c.day, "l j F") for c in columns}
    for row in rows:
        row.label = formats.time_format(row.time, "H:i")  # type: ignore[attr-defined]
        for cell in row.cells:
            who = by_pk[cell.column.key[0]]
            cell.practitioner = who  # type: ignore[attr-defined]
            if cell.state == "free":
                cell.day_label = day_labels[cell.column]  # type: ignore[attr-defined]
                local = timezone.localtime(cell.start, tz)
                cell.book_url = (  # type: ignore[attr-defined]
                    booking
                    + "?"
                    + urlencode({"praticien": str(who.public_id), "jour": cell.column.day.isoformat(),
                                 "heure": local.strftime("%H:%M")})
                )
    heads = [{"day": c.day, "practitioner": by_pk[c.key[0]], "today": c.day == today} for c in columns]
    details: dict[str, Any] = {"day": day.isoformat(), "view": view, "count": len(appointments)}
    if selected is not None:
        details["practitioner"] = selected.pk
    journal.record(Ev.AGENDA_VIEWED, actor=user, details=details)
    stride = 7 if view == "semaine" else 1
    return render(
        request,
        "agenda/week.html",
        {
            "day": day,
            "first": first,
            "last": last,
            "today": today,
            "view": view,
            "rows": rows,
            "heads": heads,
            "appointments": appointments,
            "practitioners": practitioners,
            "selected": selected,
            "step": _step(),
            "previous_url": _agenda_url(day - timedelta(days=stride), selected, view),
            "next_url": _agenda_url(day + timedelta(days=stride), selected, view),
            "today_url": _agenda_url(today, selected, view),
            "week_url": _agenda_url(day, selected or (practitioners[0] if practitioners else None), "semaine"),
            "day_url": _agenda_url(day, None, "jour"),
            "create_query": urlencode(
                {"jour": day.isoformat(), **({"praticien": str(selected.public_id)} if selected else {})}
            ),
            "can_edit": records.can(user, Cap.AGENDA_EDIT),
            "can_open_record": records.can(user, Cap.PATIENT_IDENTITY_VIEW),
        },
    )


def _search_candidates(user: Any, form: forms.AppointmentForm) -> tuple[list[Any], bool, bool]:
    """The no-JavaScript patient search: (patients found, more than shown, a search was made)."""
    query = (form.data.get("patient_q") or "").strip()[:100]
    if not query:
        return [], False, False
    found = search(records.agenda_patients(user, form.practitioner_chosen()), query, limit=PICKER_LIMIT)
    journal.record(
        Ev.PATIENT_SEARCHED, actor=user, details={"results": len(found), "more": found.more, "picker": "agenda"}
    )
    return list(found), found.more, True


@login_required
@require_http_methods(["GET", "POST"])
def appointment_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.AGENDA_EDIT)
    initial: dict[str, Any] = {"day": forms.parse_day(request.GET.get("jour")) or timezone.localdate()}
    at = forms.parse_time(request.GET.get("heure"))
    if at is not None:
        initial["time"] = at
    selected = _pick(list(records.agenda_practitioners(user)), request.GET.get("praticien"))
    if selected is not None:
        initial["practitioner"] = selected.public_id
    return _appointment_form(request, None, initial)


def _appointment_form(request: HttpRequest, appt: Any, initial: dict[str, Any]) -> HttpResponse:
    user = request.user
    searching = request.method == "POST" and "chercher" in request.POST
    bound = request.POST if request.method == "POST" else None
    form = forms.AppointmentForm(user, bound, initial=initial)
    candidates: list[Any] = []
    more = searched = False
    if searching:
        candidates, more, searched = _search_candidates(user, form)
        form = forms.AppointmentForm(user, bound, initial=initial, candidates=candidates)
    elif request.method == "POST" and form.is_valid():
        try:
            if appt is None:
                appt = actions.create_appointment(actor=user, **form.appointment_data())
                messages.success(request, _("Rendez-vous enregistré."))
            else:
                changed = actions.update_appointment(actor=user, appointment=appt, data=form.appointment_data())
                if changed:
                    messages.success(request, _("Rendez-vous modifié."))
                else:
                    messages.info(request, _("Aucune modification."))
        except (actions.ActionError, ValidationError) as exc:
            show_refusal(form, exc)
        else:
            return redirect(_agenda_url(timezone.localdate(appt.start), appt.practitioner))
    chosen = form.practitioner_chosen()
    return render(
        request,
        "agenda/appointment_form.html",
        {
            "form": form,
            "appointment": appt,
            "searched": searched,
            "found_count": len(candidates),
            "more": more,
            "is_past": form.is_past(),
            "show_confirm": form.is_past() or "confirm_past" in form.errors,
            "back_url": _agenda_url(
                form.initial.get("day") or timezone.localdate(), chosen if chosen is not None else None
            ),
        },
    )


@login_required
@require_POST
def patient_search(request: HttpRequest) -> JsonResponse:
    """The patient picker, for static/agenda/agenda.js: POST {praticien, q} → JSON. The query is
    POSTed (never in a URL or a log) and only the chosen practitioner's patients are searched."""
    user = request.user
    records.require(user, Cap.AGENDA_EDIT)
    practitioner = _pick(list(records.agenda_practitioners(user)), request.POST.get("praticien") or None)
    query = (request.POST.get("q") or "").strip()[:100]
    if practitioner is None:
        return JsonResponse({"results": [], "more": False, "error": _("Choisissez d'abord le praticien.")})
    found = search(records.agenda_patients(user, practitioner), query, limit=PICKER_LIMIT)
    journal.record(
        Ev.PATIENT_SEARCHED, actor=user, details={"results": len(found), "more": found.more, "picker": "agenda"}
    )
    return JsonResponse(
        {
            "results": [{"id": str(p.public_id), "label": forms.patient_label(p)} for p in found],
            "more": found.more,
            "usable": parse_query(query).usable,
        }
    )


@login_required
@require_http_methods(["GET", "POST"])
def appointment_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    records.require(user, Cap.AGENDA_EDIT)
    appt = records.get_appointment(user, public_id, Cap.AGENDA_EDIT)
    return _appointment_form(request, appt, forms.AppointmentForm.initial_for(appt))


@login_required
@require_POST
def appointment_cancel(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    records.require(user, Cap.AGENDA_EDIT)
    appt = records.get_appointment(user, public_id, Cap.AGENDA_EDIT)
    day = timezone.localdate(appt.start)
    actions.cancel_appointment(actor=user, appointment=appt)
    messages.success(request, _("Rendez-vous annulé et supprimé."))
    return redirect(_agenda_url(day, appt.practitioner))
