"""The practice's security checklist: everyone reads it (checklist:view); the administrator and
the referent declare items, record training and open proofs (checklist:edit)."""

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
from hygie.checklist import actions, board, catalogue, proofs
from hygie.checklist import poster as poster_pdf
from hygie.checklist.forms import DeclarationForm, TrainingForm
from hygie.checklist.models import Declaration, Training
from hygie.practices.models import Practice
from hygie.web.forms import show_refusal


def _page(request: HttpRequest, *, training_form: TrainingForm | None = None) -> HttpResponse:
    state = board.evaluate()
    can_edit = records.can(request.user, Cap.CHECKLIST_EDIT)
    if can_edit and training_form is None:
        training_form = TrainingForm(initial={"followed_on": timezone.localdate()})
    return render(
        request,
        "checklist/index.html",
        {
            "board": state,
            "sections": state.by_section(),
            "counts": state.counts(),
            "can_edit": can_edit,
            "trainings": Training.objects.select_related("person").order_by("-followed_on", "-id")[:30],
            "training_form": training_form,
        },
    )


@login_required
@require_GET
def checklist(request: HttpRequest) -> HttpResponse:
    records.require(request.user, Cap.CHECKLIST_VIEW)
    return _page(request)


@login_required
@require_http_methods(["GET", "POST"])
def declare(request: HttpRequest) -> HttpResponse:
    records.require(request.user, Cap.CHECKLIST_EDIT)
    item = catalogue.get(request.POST.get("item") or request.GET.get("item") or "")
    if item is None or item.kind != catalogue.DECLARED:
        if request.method == "GET":
            return redirect("checklist")
        raise Http404
    history = Declaration.objects.filter(item=item.id).select_related("declared_by")[:10]
    if request.method == "POST":
        form = DeclarationForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                actions.declare(
                    actor=request.user, item_id=item.id, answer=form.cleaned_data["answer"],
                    declared_on=form.cleaned_data["declared_on"], note=form.cleaned_data["note"],
                    proof=form.cleaned_data["proof"],
                )
            except actions.ChecklistError as exc:
                show_refusal(form, exc)
            else:
                messages.success(request, _("Déclaration enregistrée : « %(label)s ».") % {"label": item.label})
                return redirect(f"{_checklist_url()}#item-{item.id}")
    else:
        form = DeclarationForm(initial={"declared_on": timezone.localdate(), "answer": "ok"})
    return render(request, "checklist/declare.html", {"item": item, "form": form, "history": history})


def _checklist_url() -> str:
    return reverse("checklist")


@login_required
@require_GET
def proof_download(request: HttpRequest, public_id: Any) -> HttpResponse:
    records.require(request.user, Cap.CHECKLIST_EDIT)
    declaration = Declaration.objects.filter(public_id=public_id).first()
    if declaration is None or not declaration.has_proof:
        raise Http404
    data = actions.proof_downloaded(actor=request.user, declaration=declaration)
    ext = proofs.EXTENSIONS.get(declaration.proof_type, "bin")
    response = HttpResponse(data, content_type=declaration.proof_type or "application/octet-stream")
    name = f"justificatif-{declaration.item}-{declaration.declared_on:%Y%m%d}.{ext}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
def training_add(request: HttpRequest) -> HttpResponse:
    records.require(request.user, Cap.CHECKLIST_EDIT)
    form = TrainingForm(request.POST)
    if form.is_valid():
        try:
            actions.record_training(
                actor=request.user, person=form.cleaned_data["person"], course=form.cleaned_data["course"],
                followed_on=form.cleaned_data["followed_on"], title=form.cleaned_data["title"],
            )
        except actions.ChecklistError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Formation enregistrée."))
            return redirect(f"{_checklist_url()}#formations")
    return _page(request, training_form=form)


@login_required
@require_GET
def poster(request: HttpRequest) -> HttpResponse:
    records.require(request.user, Cap.CHECKLIST_VIEW)
    state = board.evaluate()
    practice = Practice.current()
    today = timezone.localdate()
    pdf = poster_pdf.poster_pdf(state, practice_name=practice.name if practice else "", today=today)
    actions.poster_exported(actor=request.user, score=state.score)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="check-list-securite-{today:%Y%m%d}.pdf"'
    return response
