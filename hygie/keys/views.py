"""The recovery kit page (administrator and referent, after re-authentication), and the
unlock page of a server started locked (passphrase mode, docs/encryption.md)."""

from __future__ import annotations

import threading

from allauth.account.decorators import reauthentication_required
from django import forms
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from hygie.access import records
from hygie.access.policy import Cap
from hygie.audit import journal
from hygie.audit.events import Ev, Outcome
from hygie.keys import kit, service
from hygie.lib import keyfile


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


# --- Unlock page (passphrase mode) ---------------------------------------------------------

# To guard against guessing the passphrase, we allow 5 attempts per address per 15 minutes,
# counted in the shared cache (every process of the practice). Each attempt also costs
# scrypt's 0.3 s and 128 MiB, so attempts run one at a time in a process.
UNLOCK_ATTEMPTS = 5
UNLOCK_WINDOW_SECONDS = 15 * 60
_one_attempt_at_a_time = threading.Lock()


class UnlockForm(forms.Form):
    passphrase = forms.CharField(
        label=_("Phrase de passe du cabinet"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "autofocus": True}),
    )


def _render_unlock(
    request: HttpRequest, form: UnlockForm, *, error: str = "", status: int = 503, throttled: bool = False
) -> HttpResponse:
    return render(request, "keys/unlock.html", {"form": form, "error": error, "throttled": throttled}, status=status)


def locked_page(request: HttpRequest) -> HttpResponse:
    """What any page answers while the server is locked (503: the service is not available yet)."""
    return _render_unlock(request, UnlockForm())


def _attempts_key(request: HttpRequest) -> str:
    return f"hygie:keys-unlock:{request.META.get('REMOTE_ADDR') or '-'}"


def _count_attempt(key: str) -> int:
    if cache.add(key, 1, UNLOCK_WINDOW_SECONDS):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, UNLOCK_WINDOW_SECONDS)
        return 1


@sensitive_post_parameters("passphrase")
@sensitive_variables("passphrase")
@require_http_methods(["GET", "POST"])
def unlock(request: HttpRequest) -> HttpResponse:
    if not service.is_locked():
        return redirect("dashboard")
    form = UnlockForm(request.POST or None)
    if request.method != "POST":
        return _render_unlock(request, form)
    key = _attempts_key(request)
    if (cache.get(key) or 0) >= UNLOCK_ATTEMPTS:
        error = gettext_now("Trop de tentatives de déverrouillage. Patientez 15 minutes, puis réessayez.")
        return _render_unlock(request, UnlockForm(), error=error, status=429, throttled=True)
    if not form.is_valid():
        return _render_unlock(request, form)
    # Counted before trying: parallel requests cannot exceed the limit.
    _count_attempt(key)
    if not _one_attempt_at_a_time.acquire(timeout=10):
        return _render_unlock(request, UnlockForm(), error=gettext_now("Déverrouillage en cours, réessayez."))
    try:
        passphrase = form.cleaned_data["passphrase"]
        service.unlock(passphrase)
    except keyfile.WrongPassphrase:
        journal.record(Ev.KEYS_UNLOCK_FAILED, outcome=Outcome.FAILURE, details={"channel": "web"})
        return _render_unlock(request, UnlockForm(), error=gettext_now("Phrase de passe incorrecte."))
    finally:
        _one_attempt_at_a_time.release()
    cache.delete(key)
    journal.record(Ev.KEYS_UNLOCKED, details={"channel": "web"})
    return redirect("dashboard")
