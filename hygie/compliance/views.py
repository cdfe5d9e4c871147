"""Proof of compliance (docs/compliance.md): the administrator and the referent
(compliance:manage) keep the practice profile and the processors, and download the register, the
notices and the « contrôle CNIL » pack. No page here shows or names a patient."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hygie.access import records
from hygie.access.policy import Cap
from hygie.compliance import actions, contracts, processors
from hygie.compliance import register as reg
from hygie.compliance.forms import ProcessorForm, ProfileForm
from hygie.compliance.models import Processor, RegisterVersion
from hygie.exchange import handoff
from hygie.web.forms import show_refusal


def _require(request: HttpRequest) -> None:
    records.require(request.user, Cap.COMPLIANCE_MANAGE)


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    _require(request)
    processors.sync_backup_targets()
    register = reg.build()
    return render(request, "compliance/index.html", {
        "register": register,
        "activities": [{**reg.flat(a), "updated_label": reg.day(a["updated_on"])} for a in register["activities"]],
        "processors": Processor.objects.select_related("target"),
        "warnings": processors.warnings(timezone.localdate()),
        "versions": RegisterVersion.objects.select_related("created_by")[:10],
    })


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    _require(request)
    current = actions.profile_for()
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                actions.save_profile(actor=request.user, **form.cleaned_data)
            except actions.ComplianceError as exc:
                show_refusal(form, exc)
            else:
                messages.success(request, _("Profil du cabinet enregistré."))
                return redirect("compliance")
    else:
        initial = {name: getattr(current, name) for name in actions.PROFILE_FIELDS} if current else {}
        form = ProfileForm(initial=initial)
    missing = reg.build()["missing"]
    return render(request, "compliance/profile.html", {"form": form, "missing": missing})


FORMATS = {"json": "application/json", "csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


@login_required
@require_GET
def register_download(request: HttpRequest) -> HttpResponse:
    _require(request)
    fmt = request.GET.get("format", "pdf")
    if fmt not in FORMATS:
        raise Http404
    register = reg.generate(actor=request.user, fmt=fmt)
    if fmt == "json":
        import json

        body = json.dumps(register, ensure_ascii=False, indent=2).encode("utf-8")
    elif fmt == "csv":
        body = reg.csv_bytes(register)
    else:
        from hygie.compliance import pdf  # reportlab: see hygie.compliance.pdf

        body = pdf.register_pdf(register)
    response = HttpResponse(body, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="registre-rgpd-{timezone.localdate():%Y%m%d}.{fmt}"'
    return response


def _processor(public_id: Any) -> Processor:
    found = Processor.objects.filter(public_id=public_id).first()
    if found is None:
        raise Http404
    return found


def _processor_page(request: HttpRequest, processor: Processor | None) -> HttpResponse:
    if request.method == "POST":
        form = ProcessorForm(request.POST, request.FILES)
        if form.is_valid():
            values = dict(form.cleaned_data)
            contract = values.pop("contract")
            try:
                if processor is None:
                    actions.add_processor(actor=request.user, contract=contract, **values)
                else:
                    actions.change_processor(actor=request.user, processor=processor, contract=contract, **values)
            except actions.ComplianceError as exc:
                show_refusal(form, exc)
            else:
                messages.success(request, _("Sous-traitant enregistré."))
                return redirect("compliance")
    elif processor is None:
        form = ProcessorForm(initial={"in_eu": True, "location": "France"})
    else:
        form = ProcessorForm(initial={name: getattr(processor, name) for name in actions.PROCESSOR_FIELDS})
    return render(request, "compliance/processor.html", {"form": form, "processor": processor})


@login_required
@require_http_methods(["GET", "POST"])
def processor_add(request: HttpRequest) -> HttpResponse:
    _require(request)
    return _processor_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def processor_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    _require(request)
    return _processor_page(request, _processor(public_id))


@login_required
@require_POST
def processor_remove(request: HttpRequest, public_id: Any) -> HttpResponse:
    _require(request)
    try:
        actions.remove_processor(actor=request.user, processor=_processor(public_id))
    except actions.ComplianceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Sous-traitant retiré du registre."))
    return redirect("compliance")


@login_required
@require_GET
def contract_download(request: HttpRequest, public_id: Any) -> HttpResponse:
    _require(request)
    processor = _processor(public_id)
    if not processor.has_contract:
        raise Http404
    data = actions.contract_downloaded(actor=request.user, processor=processor)
    ext = contracts.EXTENSIONS.get(processor.contract_type, "bin")
    response = HttpResponse(data, content_type=processor.contract_type or "application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="contrat-sous-traitance.{ext}"'
    return response


NOTICE_KINDS = {"affiche": "poster", "note": "handout"}


@login_required
@require_GET
def notice(request: HttpRequest) -> HttpResponse:
    _require(request)
    word = request.GET.get("type", "affiche")
    kind = NOTICE_KINDS.get(word)
    if kind is None:
        raise Http404
    from hygie.compliance import pdf  # reportlab: see hygie.compliance.pdf

    body = pdf.notice_pdf(reg.build(), kind=kind)
    actions.notice_exported(actor=request.user, kind=kind)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="information-rgpd-{word}.pdf"'
    return response


@login_required
@require_GET
def pack_download(request: HttpRequest) -> HttpResponse:
    _require(request)
    built = actions.export_pack(actor=request.user)
    response = HttpResponse(built.data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{actions.pack_name()}"'
    return response


@login_required
@require_POST
def pack_7z(request: HttpRequest) -> HttpResponse:
    """The pack in a 7z AES archive (hygie.exchange): the passphrase is shown on the next page only."""
    _require(request)
    token, out = handoff.new_path()
    try:
        passphrase = actions.export_pack_archive(actor=request.user, out=out)
    except actions.ComplianceError as exc:
        messages.error(request, str(exc))
        return redirect("compliance")
    ready = handoff.remember(
        request, token=token, passphrase=passphrase, path=out, cap=Cap.COMPLIANCE_MANAGE.value, purpose="cnil",
        filename=f"controle-cnil-{timezone.localdate():%Y%m%d}.7z",
    )
    response = render(request, "exchange/handoff_ready.html", {
        **ready.context(), "what": _("dossier « contrôle CNIL »"), "back_url": reverse("compliance"),
    })
    response["Cache-Control"] = "no-store"
    return response
