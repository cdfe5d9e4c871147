"""Secure exchange pages (docs/exchange.md). Thin: patients through hygie.access.records, every
change through hygie.exchange.actions. Only random UUIDs in paths; addresses, titles and
passphrases travel in POST bodies and pages only."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hygie.access import records
from hygie.access.policy import Cap
from hygie.exchange import account as accounts
from hygie.exchange import actions, forms, handoff
from hygie.exchange.content import Selection
from hygie.exchange.models import Direction, Exchange, MssanteRecipient
from hygie.lib import exchange as rules
from hygie.web.forms import show_refusal


def _requires(cap: Cap) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """The role first (403), before any re-authentication or lookup."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            records.require(request.user, cap)
            return view(request, *args, **kwargs)

        return login_required(wrapper)

    return decorator


# --- Sending ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def send(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    patient = records.get_patient(user, public_id, Cap.EXCHANGE_SEND)
    consultations = list(records.consultations_of(user, patient))
    documents = list(records.documents_of(user, patient))
    mssante = accounts.current() is not None
    form = forms.SendForm(
        request.POST or None,
        consultations=[(str(c.public_id), f"{timezone.localtime(c.date):%d/%m/%Y} — {c.motif}") for c in consultations],
        documents=[(str(d.public_id), f"{d.title} ({d.get_kind_display()})") for d in documents],
        mssante=mssante,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        selection = Selection(
            patient=patient,
            summary=bool(data["summary"]),
            consultations=[c for c in consultations if str(c.public_id) in set(data["consultations"])],
            documents=[d for d in documents if str(d.public_id) in set(data["documents"])],
        )
        try:
            if data["mode"] == forms.MODE_MSSANTE:
                actions.send_message(actor=user, selection=selection, recipient=data["recipient"], note=data["note"])
                messages.success(request, _("Message envoyé par la messagerie sécurisée de santé."))
                return redirect("patient_detail", public_id=patient.public_id)
            written = actions.write_archive(actor=user, selection=selection)
        except actions.ActionError as exc:
            show_refusal(form, exc)
        else:
            # The passphrase is shown on this page only: it is stored nowhere.
            response = render(
                request,
                "exchange/archive_ready.html",
                {
                    "patient": patient,
                    "exchange": written.exchange,
                    "passphrase": written.passphrase,
                    "words": written.passphrase.split("-"),
                    "bits": round(rules.passphrase_bits(len(written.passphrase.split("-")))),
                    "hours": settings.EXCHANGE_OUTBOX_HOURS,
                },
            )
            response["Cache-Control"] = "no-store"
            return response
    sent = Exchange.objects.filter(patient=patient).exclude(direction=Direction.RECEIVED)[:10]
    return render(
        request,
        "exchange/send.html",
        {"patient": patient, "form": form, "mssante": mssante, "sent": sent, "max_mb": settings.MSSANTE_MAX_MB},
    )


@login_required
@require_GET
def download(request: HttpRequest, public_id: Any) -> HttpResponse:
    exchange = Exchange.objects.filter(public_id=public_id, direction=Direction.ARCHIVE).first()
    if exchange is None:
        raise Http404
    records.get_patient(request.user, exchange.patient.public_id, Cap.EXCHANGE_SEND)  # 404 / 403
    path = actions.outbox_path(exchange)
    if path is None:
        messages.error(request, _("Cette archive n'est plus disponible : créez-en une nouvelle."))
        return redirect("exchange_send", public_id=exchange.patient.public_id)
    try:
        actions.record_download(actor=request.user, exchange=exchange)
    except actions.ActionError as exc:
        messages.error(request, str(exc))
        return redirect("exchange_send", public_id=exchange.patient.public_id)
    # The file name says nothing of the patient: the archive may sit in a Downloads folder.
    name = f"envoi-{timezone.localtime(exchange.created_at):%Y%m%d-%H%M}.7z"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="application/x-7z-compressed")


@login_required
@require_GET
def handoff_download(request: HttpRequest, public_id: Any) -> HttpResponse:
    """A wrapped export made by this session (rights answer, « contrôle CNIL » pack): 404 for any other."""
    found = handoff.find(request, str(public_id))
    if found is None:
        raise Http404
    entry, path = found
    records.require(request.user, Cap(entry["cap"]))
    if path is None:
        messages.error(request, _("Cette archive n'est plus disponible : créez-en une nouvelle."))
        return redirect("dashboard")
    try:
        actions.record_handoff_download(actor=request.user, size=path.stat().st_size, purpose=entry["purpose"])
    except actions.ActionError as exc:
        messages.error(request, str(exc))
        return redirect("dashboard")
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=entry["filename"], content_type="application/x-7z-compressed"
    )


# --- Receiving -------------------------------------------------------------------------------


def _spool(upload: UploadedFile) -> tuple[Path, bool]:
    """A path to read the uploaded archive from (an archive needs seeking); True if ours to delete."""
    temporary = getattr(upload, "temporary_file_path", None)
    if temporary is not None:
        return Path(temporary()), False
    fd, name = tempfile.mkstemp(dir=settings.FILE_UPLOAD_TEMP_DIR, prefix=".archive-")
    with os.fdopen(fd, "wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    return Path(name), True


@transaction.non_atomic_requests
@sensitive_post_parameters("passphrase")
@login_required
@require_http_methods(["GET", "POST"])
def receive(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Our own transactions (hygie.exchange.actions): the blobs are written before the rows."""
    user = request.user
    patient = records.get_patient(user, public_id, Cap.EXCHANGE_RECEIVE)
    form = forms.ReceiveForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and "uid" in request.POST:
        try:
            exchange = actions.receive_message(actor=user, patient=patient, uid=request.POST["uid"])
        except actions.ActionError as exc:
            messages.error(request, str(exc))
            return redirect("exchange_receive", public_id=patient.public_id)
        messages.success(request, _("%(n)s document(s) classé(s) dans le dossier.") % {"n": exchange.documents})
        return redirect("patient_detail", public_id=patient.public_id)
    if request.method == "POST" and form.is_valid():
        path, ours = _spool(form.cleaned_data["archive"])
        try:
            exchange = actions.receive_archive(
                actor=user, patient=patient, path=path, passphrase=form.cleaned_data["passphrase"]
            )
        except actions.ActionError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("%(n)s document(s) classé(s) dans le dossier.") % {"n": exchange.documents})
            return redirect("patient_detail", public_id=patient.public_id)
        finally:
            if ours:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
    inbox: list[Any] = []
    inbox_error = ""
    configured = accounts.current() is not None
    if configured and request.method == "GET" and request.GET.get("boite"):
        try:
            inbox = actions.inbox(actor=user)
        except actions.ActionError as exc:
            inbox_error = str(exc)
    return render(
        request,
        "exchange/receive.html",
        {
            "patient": patient,
            "form": form,
            "configured": configured,
            "inbox": inbox,
            "inbox_error": inbox_error,
            "inbox_asked": bool(request.GET.get("boite")),
            "max_mb": settings.EXCHANGE_MAX_MB,
        },
    )


# --- The MSSanté account (administrator) ---------------------------------------------------------


@_requires(Cap.EXCHANGE_CONFIGURE)
@sensitive_post_parameters("password", "private_key")
@reauthentication_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    current = accounts.current()
    initial: dict[str, Any] = {}
    if current is not None:
        initial = {k: getattr(current, k) for k in (
            "address", "smtp_host", "smtp_port", "smtp_security", "imap_host", "imap_port", "imap_security",
            "auth", "username", "client_cert_pem", "ca_pem",
        )}
    form = forms.AccountForm(request.POST or None, initial=initial)
    if request.method == "POST" and "remove" in request.POST:
        actions.remove_account(actor=request.user)
        messages.success(request, _("Compte MSSanté retiré."))
        return redirect("mssante_account")
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_account(actor=request.user, data=form.cleaned_data)
        except actions.ActionError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Compte MSSanté enregistré."))
            return redirect("mssante_account")
    return render(
        request,
        "exchange/account.html",
        {"form": form, "current": current, "has_secret": bool(current and current.secret)},
    )


# --- MSSanté addresses outside mssante.fr (titulaire) --------------------------------------------


@_requires(Cap.EXCHANGE_RECIPIENTS)
@require_http_methods(["GET", "POST"])
def recipients(request: HttpRequest) -> HttpResponse:
    form = forms.RecipientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.mark_recipient(actor=request.user, address=form.cleaned_data["address"])
        except actions.ActionError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Adresse déclarée comme adresse MSSanté."))
            return redirect("mssante_recipients")
    return render(
        request,
        "exchange/recipients.html",
        {
            "form": form,
            "recipients": MssanteRecipient.objects.select_related("marked_by"),
            "domains": settings.MSSANTE_DOMAINS,
        },
    )


@_requires(Cap.EXCHANGE_RECIPIENTS)
@require_POST
def recipient_remove(request: HttpRequest, public_id: Any) -> HttpResponse:
    recipient = MssanteRecipient.objects.filter(public_id=public_id).first()
    if recipient is None:
        raise Http404
    actions.unmark_recipient(actor=request.user, recipient=recipient)
    messages.success(request, _("Adresse retirée."))
    return redirect("mssante_recipients")
