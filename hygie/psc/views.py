"""Pro Santé Connect administration: who is linked, who came back unknown, link and unlink.
Thin: changes through hygie.psc.actions; the administrator's capability is USERS_MANAGE."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from hygie.access import records
from hygie.access.policy import Cap
from hygie.accounts.models import User
from hygie.psc import actions, config
from hygie.psc.forms import LinkForm
from hygie.psc.models import PscLink, PscUnknownAttempt
from hygie.web.forms import show_refusal


@login_required
@require_http_methods(["GET", "POST"])
def overview(request: HttpRequest) -> HttpResponse:
    records.require(request.user, Cap.USERS_MANAGE)
    initial = {}
    chosen = request.GET.get("identifiant", "")
    if chosen:
        initial["national_id"] = chosen
    form = LinkForm(request.POST or None, initial=initial)
    if request.method == "POST":
        return _link(request, form)
    return _page(request, form)


def _page(request: HttpRequest, form: LinkForm, status: int = 200) -> HttpResponse:
    chosen = PscUnknownAttempt.objects.filter(national_id=form["national_id"].value() or "").first()
    return render(request, "psc/overview.html", {
        "form": form,
        "enabled": config.enabled(),
        "links": PscLink.objects.select_related("user", "linked_by").order_by("user__last_name"),
        "unknown": PscUnknownAttempt.objects.all()[:50],
        "chosen": chosen,
    }, status=status)


@reauthentication_required
def _link(request: HttpRequest, form: LinkForm) -> HttpResponse:
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        grant = actions.link(
            actor=request.user, user=form.cleaned_data["user"], national_id=form.cleaned_data["national_id"],
            psc_only=form.cleaned_data["psc_only"],
        )
    except actions.ActionError as exc:
        show_refusal(form, exc)
        return _page(request, form, status=400)
    if grant is not None:
        messages.info(request, _("Demande envoyée : le lien s'appliquera quand le titulaire concerné l'aura approuvé."))
    else:
        messages.success(request, _("Compte relié à Pro Santé Connect."))
    return redirect("psc_admin")


def _user(public_id: str) -> User:
    user = User.objects.filter(public_id=public_id).first()
    if user is None:
        raise Http404
    return user


@login_required
@require_POST
def unlink(request: HttpRequest, public_id: str) -> HttpResponse:
    records.require(request.user, Cap.USERS_MANAGE)  # the role first (403), then re-authentication
    return _unlink(request, public_id)


@reauthentication_required
def _unlink(request: HttpRequest, public_id: str) -> HttpResponse:
    try:
        actions.unlink(actor=request.user, user=_user(public_id))
        messages.success(request, _("Compte détaché de Pro Santé Connect."))
    except actions.ActionError as exc:
        messages.error(request, str(exc))
    return redirect("psc_admin")


@login_required
@require_POST
def psc_only(request: HttpRequest, public_id: str) -> HttpResponse:
    records.require(request.user, Cap.USERS_MANAGE)
    return _psc_only(request, public_id)


@reauthentication_required
def _psc_only(request: HttpRequest, public_id: str) -> HttpResponse:
    wanted = request.POST.get("psc_only") == "1"
    try:
        actions.set_psc_only(actor=request.user, user=_user(public_id), psc_only=wanted)
        messages.success(request, _("Réglage enregistré."))
    except actions.ActionError as exc:
        messages.error(request, str(exc))
    return redirect("psc_admin")
