"""The agenda: a day view and the appointment forms. Fetch through hygie.access.records,
change through hygie.agenda.actions."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hygie.access import records
from hygie.access.policy import Cap
from hygie.agenda import actions, forms
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.web.forms import show_refusal


def _day_url(day: date, practitioner: Any = None) -> str:
    query = {"jour": day.isoformat()}
    if practitioner is not None:
        query["praticien"] = str(practitioner.public_id)
    return f"{reverse('agenda')}?{urlencode(query)}"


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    return start, end


def _pick(practitioners: list[Any], public_id: str | None) -> Any:
    """The practitioner of ?praticien=, among those of the user's agenda; 404 otherwise."""
    if not public_id:
        return None
    for p in practitioners:
        if str(p.public_id) == public_id:
            return p
    raise Http404


@login_required
@require_GET
def agenda(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.AGENDA_VIEW)
    day = forms.parse_day(request.GET.get("jour")) or timezone.localdate()
    practitioners = list(records.agenda_practitioners(user))
    selected = _pick(practitioners, request.GET.get("praticien"))
    start, end = _day_bounds(day)
    found = records.agenda_scope(user).filter(start__gte=start, start__lt=end)
    if selected is not None:
        found = found.filter(practitioner=selected)
    appointments = list(found.order_by("start"))
    details: dict[str, Any] = {"day": day.isoformat(), "count": len(appointments)}
    if selected is not None:
        details["practitioner"] = selected.pk
    journal.record(Ev.AGENDA_VIEWED, actor=user, details=details)
    return render(
        request,
        "agenda/day.html",
        {
            "day": day,
            "today": timezone.localdate(),
            "appointments": appointments,
            "practitioners": practitioners,
            "selected": selected,
            "previous_url": _day_url(day - timedelta(days=1), selected),
            "next_url": _day_url(day + timedelta(days=1), selected),
            "today_url": _day_url(timezone.localdate(), selected),
            "create_query": urlencode(
                {"jour": day.isoformat(), **({"praticien": str(selected.public_id)} if selected else {})}
            ),
            "can_edit": records.can(user, Cap.AGENDA_EDIT),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def appointment_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.AGENDA_EDIT)
    initial: dict[str, Any] = {"day": forms.parse_day(request.GET.get("jour")) or timezone.localdate()}
    selected = _pick(list(records.agenda_practitioners(user)), request.GET.get("praticien"))
    if selected is not None:
        initial["practitioner"] = selected.public_id
    form = forms.AppointmentForm(user, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            appt = actions.create_appointment(actor=user, **form.appointment_data())
        except (actions.ActionError, ValidationError) as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Rendez-vous enregistré."))
            return redirect(_day_url(timezone.localdate(appt.start)))
    return render(request, "agenda/appointment_form.html", {"form": form, "appointment": None})


@login_required
@require_http_methods(["GET", "POST"])
def appointment_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    records.require(user, Cap.AGENDA_EDIT)
    appt = records.get_appointment(user, public_id, Cap.AGENDA_EDIT)
    form = forms.AppointmentForm(user, request.POST or None, initial=forms.AppointmentForm.initial_for(appt))
    if request.method == "POST" and form.is_valid():
        try:
            changed = actions.update_appointment(actor=user, appointment=appt, data=form.appointment_data())
        except (actions.ActionError, ValidationError) as exc:
            show_refusal(form, exc)
        else:
            if changed:
                messages.success(request, _("Rendez-vous modifié."))
            else:
                messages.info(request, _("Aucune modification."))
            return redirect(_day_url(timezone.localdate(appt.start)))
    return render(request, "agenda/appointment_form.html", {"form": form, "appointment": appt})


@login_required
@require_POST
def appointment_cancel(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    records.require(user, Cap.AGENDA_EDIT)
    appt = records.get_appointment(user, public_id, Cap.AGENDA_EDIT)
    day = timezone.localdate(appt.start)
    actions.cancel_appointment(actor=user, appointment=appt)
    messages.success(request, _("Rendez-vous annulé et supprimé."))
    return redirect(_day_url(day))
