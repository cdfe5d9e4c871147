"""The backups page of the administrator: status, destinations, runs, « Sauvegarder
maintenant ». Adding, changing or removing a destination asks for a fresh proof of identity."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import BooleanField
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hygie.access import records
from hygie.access.policy import Cap
from hygie.backups import actions, forms, status, targets
from hygie.backups.models import Run, RunKind, RunStatus, Target, TargetKind
from hygie.backups.stores import StoreError
from hygie.web.forms import show_refusal

SECRET_FIELDS = ("password", "secret_key")
ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)


def backups_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The role first (403), before any re-authentication or object lookup."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        records.require(request.user, Cap.BACKUPS_MANAGE)
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _get_target(public_id: Any) -> Target:
    target = Target.objects.filter(public_id=public_id).first()
    if target is None:
        raise Http404
    return target


def _last(runs: Any, state: str) -> Run | None:
    return runs.filter(status=state).order_by("-started_at", "-id").first()


def target_rows() -> list[dict[str, Any]]:
    rows = []
    for target in Target.objects.all():
        runs = Run.objects.filter(target=target, kind=RunKind.BACKUP)
        rows.append(
            {
                "target": target,
                "description": targets.describe(target),
                "last_success": _last(runs, RunStatus.SUCCESS),
                "last_failure": _last(runs, RunStatus.FAILURE),
            }
        )
    return rows


@backups_required
@require_GET
def backups(request: HttpRequest) -> HttpResponse:
    runs = list(Run.objects.select_related("target").order_by("-started_at", "-id")[:20])
    items = status.summary()
    return render(
        request,
        "backups/index.html",
        {
            "items": items,
            "late": status.any_late(items),
            "warnings": targets.warnings(),
            "rows": target_rows(),
            "runs": runs,
            "busy_backup": Run.objects.filter(kind=RunKind.BACKUP, status__in=ACTIVE).exists(),
            "busy_restore": Run.objects.filter(kind=RunKind.TEST_RESTORE, status__in=ACTIVE).exists(),
            "active": any(r.status in ACTIVE for r in runs),
            "now": timezone.now(),
        },
    )


def _initial_from_post(request: HttpRequest, form_class: type[forms._TargetForm]) -> dict[str, Any]:
    """What the administrator typed, to show again after fetching a host key (secrets left out)."""
    initial: dict[str, Any] = {}
    for name, field in form_class.base_fields.items():
        if name in form_class.secret_fields or name == "confirm_host_key":
            continue
        if isinstance(field, BooleanField):
            initial[name] = bool(request.POST.get(name))
        elif name in request.POST:
            initial[name] = request.POST.get(name, "")
    return initial


def _fetch_host_key(request: HttpRequest, form_class: type[forms._TargetForm], instance: Target | None) -> tuple:
    """« Récupérer la clé du serveur »: the form again, with the server's key filled in and its
    fingerprint shown, for the administrator to confirm. Nothing is saved."""
    initial = _initial_from_post(request, form_class)
    error = ""
    host_form = forms.HostForm(request.POST)
    if host_form.is_valid():
        try:
            initial["host_key"] = targets.fetch_host_key(host_form.cleaned_data["host"], host_form.cleaned_data["port"])
        except StoreError as exc:
            error = str(exc)
        except Exception as exc:
            error = _("Impossible de récupérer la clé du serveur (%(error)s).") % {"error": type(exc).__name__}
    else:
        error = " ".join(str(m) for errors in host_form.errors.values() for m in errors)
    return form_class(initial=initial, instance=instance), error


def _render_form(request: HttpRequest, form: forms._TargetForm, *, kind: str, target: Target | None,
                 fetch_error: str = "") -> HttpResponse:
    fingerprint = ""
    if kind == TargetKind.SFTP:
        fingerprint = targets.safe_fingerprint(" ".join(str(form["host_key"].value() or "").split()))
    return render(
        request,
        "backups/target_form.html",
        {
            "form": form,
            "kind": kind,
            "kind_label": TargetKind(kind).label,
            "target": target,
            "fingerprint": fingerprint,
            "fetch_error": fetch_error,
        },
    )


@backups_required
@sensitive_post_parameters(*SECRET_FIELDS)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def target_create(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind") or request.GET.get("type") or ""
    if kind not in TargetKind.values:
        return render(request, "backups/target_kind.html", {"kinds": TargetKind.choices})
    form_class = forms.FORMS[kind]
    if request.method == "POST" and "fetch_host_key" in request.POST and kind == TargetKind.SFTP:
        form, error = _fetch_host_key(request, form_class, None)
        return _render_form(request, form, kind=kind, target=None, fetch_error=error)
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            target = actions.add_target(
                request.user,
                name=form.cleaned_data["name"],
                kind=kind,
                config=form.config(),
                secret=form.secret(),
                always_connected=form.is_always_connected(),
                enabled=bool(form.cleaned_data.get("enabled")),
            )
        except (actions.ActionError, StoreError) as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Destination ajoutée. Testez-la avant la première sauvegarde."))
            return redirect("backup_target_detail", public_id=target.public_id)
    return _render_form(request, form, kind=kind, target=None)


@backups_required
@require_GET
def target_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    target = _get_target(public_id)
    runs = list(Run.objects.filter(target=target).order_by("-started_at", "-id")[:10])
    config = target.config or {}
    sftp = target.kind == TargetKind.SFTP
    return render(
        request,
        "backups/target_detail.html",
        {
            "target": target,
            "description": targets.describe(target),
            "config": config,
            "public_key": targets.client_public_key(target),
            "fingerprint": targets.safe_fingerprint(config.get("host_key", "")) if sftp else "",
            "has_secret": bool(target.secret),
            "locked": targets.locked_objects(target),
            "runs": runs,
        },
    )


@backups_required
@sensitive_post_parameters(*SECRET_FIELDS)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def target_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    target = _get_target(public_id)
    form_class = forms.FORMS[target.kind]
    if request.method == "POST" and "fetch_host_key" in request.POST and target.kind == TargetKind.SFTP:
        form, error = _fetch_host_key(request, form_class, target)
        return _render_form(request, form, kind=target.kind, target=target, fetch_error=error)
    form = form_class(request.POST or None, instance=target)
    if request.method == "POST" and form.is_valid():
        try:
            actions.change_target(
                request.user,
                target,
                name=form.cleaned_data["name"],
                enabled=form.cleaned_data.get("enabled", False),
                always_connected=form.is_always_connected(),
                config=form.config(),
                secret=form.secret(),
            )
        except (actions.ActionError, StoreError) as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Destination modifiée."))
            return redirect("backup_target_detail", public_id=target.public_id)
    return _render_form(request, form, kind=target.kind, target=target)


@backups_required
@reauthentication_required
@require_http_methods(["GET", "POST"])
def target_remove(request: HttpRequest, public_id: Any) -> HttpResponse:
    target = _get_target(public_id)
    if request.method == "POST":
        name = target.name
        actions.remove_target(request.user, target)
        messages.success(
            request,
            _("Destination « %(name)s » retirée. Les sauvegardes déjà copiées y restent.") % {"name": name},
        )
        return redirect("backups")
    return render(request, "backups/target_remove.html", {"target": target, "description": targets.describe(target)})


@backups_required
@require_POST
def target_test(request: HttpRequest, public_id: Any) -> HttpResponse:
    target = _get_target(public_id)
    error = actions.test_target(request.user, target)
    if error is None:
        if targets.locked_objects(target):
            messages.success(
                request,
                _("La destination répond. (Verrouillage actif : aucun fichier d'essai n'a été écrit, il ne "
                  "pourrait pas être effacé.)"),
            )
        else:
            messages.success(request, _("La destination fonctionne : un fichier d'essai a été écrit puis effacé."))
    else:
        messages.error(request, _("Échec du test : %(error)s") % {"error": error})
    return redirect("backup_target_detail", public_id=target.public_id)


def _request(request: HttpRequest, fn: Callable[[Any], Run], ok: str) -> HttpResponse:
    try:
        fn(request.user)
    except actions.ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, ok)
    return redirect("backups")


@backups_required
@require_POST
def backup_request(request: HttpRequest) -> HttpResponse:
    return _request(
        request, actions.request_backup,
        _("Sauvegarde demandée : elle démarre dans quelques secondes."),
    )


@backups_required
@require_POST
def restore_test_request(request: HttpRequest) -> HttpResponse:
    return _request(
        request, actions.request_test_restore,
        _("Test de restauration demandé : il démarre dans quelques secondes."),
    )


@backups_required
@require_GET
def progress(request: HttpRequest) -> HttpResponse:
    """The runs under way, for the progress bars (hygie/backups/static/backups/progress.js).
    Ids, kinds and byte counts only: no path, no destination detail."""
    runs = Run.objects.filter(status__in=ACTIVE).order_by("started_at", "id")
    return JsonResponse(
        {
            "runs": [
                {
                    "id": str(run.public_id),
                    "kind": run.kind,
                    "status": run.status,
                    "bytes_done": run.bytes_done,
                    "bytes_total": run.bytes_total,
                }
                for run in runs
            ]
        }
    )
