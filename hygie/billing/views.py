"""Billing: care sheets under a name for practitioners, under the pseudonymous code for the
billing clerk (records.billing_patient_label decides). Fetch through hygie.access.records,
change through hygie.billing.actions."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hygie.access import records
from hygie.access.policy import Cap
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.billing import actions, forms, receipt
from hygie.core.readviews import read_page
from hygie.lib import money
from hygie.practices.models import Practice
from hygie.web.forms import show_refusal

PAGE_SIZE = 50
# The accountant's export: a spreadsheet opens it as it is (UTF-8 with BOM, semicolons).
CSV_HEADER = ["date", "reference", "praticien", "code_patient", "montant_eur", "regle"]


def _list_url(query: dict[str, str] | None = None) -> str:
    query = {k: v for k, v in (query or {}).items() if v}
    return reverse("billing") + (f"?{urlencode(query)}" if query else "")


def _filters_of(data: Any) -> dict[str, str]:
    """The list filters to come back to after a change, re-validated (never echoed blindly)."""
    form = forms.BillingFilterForm(data)
    if not form.is_valid():
        return {}
    month = form.cleaned_data["mois"]
    return {
        "mois": f"{month[0]:04d}-{month[1]:02d}" if month else "",
        "impayees": "1" if form.cleaned_data["impayees"] else "",
        "page": data.get("page", "") if str(data.get("page", "")).isdigit() else "",
    }


def _filtered(request: HttpRequest) -> tuple[forms.BillingFilterForm, Any, Any, bool]:
    filters = forms.BillingFilterForm(request.GET)
    found = records.billing_scope(request.user)
    month = None
    unpaid_only = False
    if filters.is_valid():
        month = filters.cleaned_data["mois"]
        unpaid_only = bool(filters.cleaned_data["impayees"])
        if month:
            found = found.filter(date__year=month[0], date__month=month[1])
        if unpaid_only:
            found = found.filter(paid=False)
    return filters, found, month, unpaid_only


def _csv_cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@login_required
@require_GET
@read_page
def billing(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.BILLING_VIEW)
    filters, found, month, unpaid_only = _filtered(request)
    sheets = list(found)
    # Summed here, not in SQL: amounts are financial fields, encrypted at rest.
    total = sum((s.amount for s in sheets), Decimal("0"))
    unpaid_total = sum((s.amount for s in sheets if not s.paid), Decimal("0"))
    page = Paginator(sheets, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"sheet": s, "label": records.billing_patient_label(user, s.patient)} for s in page.object_list]
    journal.record(
        Ev.BILLING_VIEWED,
        actor=user,
        details={
            "count": len(rows),
            "month": f"{month[0]:04d}-{month[1]:02d}" if month else "",
            "unpaid_only": bool(unpaid_only),
        },
    )
    keep = _filters_of(request.GET)
    keep.pop("page", None)
    return render(
        request,
        "billing/list.html",
        {
            "filters": filters,
            "rows": rows,
            "page": page,
            "count": len(sheets),
            "total": total,
            "unpaid_total": unpaid_total,
            "page_query": urlencode({k: v for k, v in keep.items() if v}),
            "keep": keep,
            "can_edit": records.can(user, Cap.BILLING_EDIT),
            "sees_names": records.can(user, Cap.BILLING_SEES_NAMES),
            "export_query": urlencode({k: v for k, v in keep.items() if v}),
        },
    )


@login_required
@require_GET
def billing_export(request: HttpRequest) -> HttpResponse:
    """The accountant's CSV of the filtered care sheets: pseudonymous (the patient's code, never
    a name, never the acts), amounts with a decimal comma. Journaled with counts only."""
    user = request.user
    records.require(user, Cap.BILLING_VIEW)
    filters, found, month, unpaid_only = _filtered(request)
    if not filters.is_valid():
        messages.error(request, _("Filtres invalides : l'export n'a pas été fait."))
        return redirect(_list_url())
    sheets = sorted(found, key=lambda s: (s.date, s.created_at))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for s in sheets:
        writer.writerow([
            s.date.strftime("%d/%m/%Y"),
            receipt.reference(s),
            _csv_cell(s.practitioner.display_name),
            s.patient.code,
            money.plain(s.amount),
            "oui" if s.paid else "non",
        ])
    month_text = f"{month[0]:04d}-{month[1]:02d}" if month else ""
    actions.record_export(actor=user, count=len(sheets), month=month_text, unpaid_only=unpaid_only)
    name = "hygie-facturation" + (f"-{month_text}" if month_text else "") + ".csv"
    response = HttpResponse(("\ufeff" + out.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
@read_page
def care_sheet_receipt(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The note d'honoraires for the patient (PDF). It names the patient: only for the roles that
    see names (not the billing clerk)."""
    user = request.user
    records.require(user, Cap.BILLING_SEES_NAMES)
    sheet = records.get_care_sheet(user, public_id, Cap.BILLING_SEES_NAMES)
    practice = Practice.current()
    pdf = receipt.receipt_pdf(sheet=sheet, practice_name=practice.name if practice else "")
    actions.record_receipt(actor=user, sheet=sheet)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="note-honoraires-{receipt.reference(sheet)}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def favourites(request: HttpRequest) -> HttpResponse:
    """The practitioners' usual acts and amounts: listed, added here, offered on the care sheet form."""
    user = request.user
    records.require(user, Cap.BILLING_EDIT)
    form = forms.FavouriteActForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.add_favourite(actor=user, **form.cleaned_data)
        except (actions.ActionError, ValidationError) as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Acte habituel ajouté."))
            return redirect("billing_favourites")
    items = sorted(records.favourite_acts(user), key=lambda f: (f.practitioner.display_name, f.acts))
    return render(request, "billing/favourites.html", {"form": form, "favourites": items})


@login_required
@require_POST
def favourite_remove(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    favourite = records.get_favourite_act(user, public_id)
    actions.remove_favourite(actor=user, favourite=favourite)
    messages.success(request, _("Acte habituel retiré."))
    return redirect("billing_favourites")


@login_required
@require_http_methods(["GET", "POST"])
def care_sheet_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.BILLING_EDIT)
    form = forms.CareSheetForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.create_care_sheet(actor=user, **form.cleaned_data)
        except (actions.ActionError, ValidationError) as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Feuille de soins enregistrée."))
            return redirect("billing")
    return render(request, "billing/care_sheet_form.html", {"form": form, "sheet": None})


@login_required
@require_http_methods(["GET", "POST"])
def care_sheet_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    records.require(user, Cap.BILLING_EDIT)
    sheet = records.get_care_sheet(user, public_id, Cap.BILLING_EDIT)
    form = forms.CareSheetForm(user, request.POST or None, initial=forms.CareSheetForm.initial_for(user, sheet))
    if request.method == "POST" and form.is_valid():
        try:
            changed = actions.update_care_sheet(actor=user, sheet=sheet, data=form.cleaned_data)
        except (actions.ActionError, ValidationError) as exc:
            show_refusal(form, exc)
        else:
            if changed:
                messages.success(request, _("Feuille de soins modifiée."))
            else:
                messages.info(request, _("Aucune modification."))
            return redirect("billing")
    return render(
        request,
        "billing/care_sheet_form.html",
        {"form": form, "sheet": sheet, "label": records.billing_patient_label(user, sheet.patient)},
    )


@login_required
@require_POST
def care_sheet_toggle_paid(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    records.require(user, Cap.BILLING_EDIT)
    sheet = records.get_care_sheet(user, public_id, Cap.BILLING_EDIT)
    actions.set_paid(actor=user, sheet=sheet, paid=not sheet.paid)
    if sheet.paid:
        messages.success(request, _("Feuille de soins marquée réglée."))
    else:
        messages.success(request, _("Feuille de soins marquée non réglée."))
    return redirect(_list_url(_filters_of(request.POST)))
