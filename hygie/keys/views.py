"""The recovery kit page: for the administrator and the referent, after re-authentication."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from hygie.access import records
from hygie.access.policy import Cap
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.keys import kit, service


class KitForm(forms.Form):
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[("pdf", _("PDF, à imprimer")), ("txt", _("Texte"))],
        initial="pdf",
        widget=forms.RadioSelect,
    )


@login_required
@require_http_methods(["GET", "POST"])
def recovery_kit(request: HttpRequest) -> HttpResponse:
    # The role first (403), then a fresh proof of identity: the kit opens every record.
    records.require(request.user, Cap.KEYS_MANAGE)
    return _recovery_kit(request)


@reauthentication_required
def _recovery_kit(request: HttpRequest) -> HttpResponse:
    from hygie.practices.models import Practice

    form = KitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        material = service.material()
        practice = Practice.current()
        name, now = (practice.name if practice else "—"), timezone.now()
        fmt = form.cleaned_data["format"]
        journal.record(
            Ev.RECOVERY_KIT_GENERATED, actor=request.user, details={"format": fmt, "kek": material.primary_kek}
        )
        if fmt == "pdf":
            response = HttpResponse(kit.as_pdf(material, name, now), content_type="application/pdf")
        else:
            response = HttpResponse(kit.as_text(material, name, now), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="hygie-kit-recuperation.{fmt}"'
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "keys/recovery_kit.html", {"form": form, "kek": service.material().primary_kek})
