"""My account, and user management for the practice's administrator."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account.decorators import reauthentication_required
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from hygie.access import records
from hygie.access.policy import Cap
from hygie.accounts import actions, forms
from hygie.accounts.models import User
from hygie.approvals import actions as approvals
from hygie.approvals.models import GrantRequest
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.web.forms import show_refusal


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        records.require(request.user, Cap.USERS_MANAGE)
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _get_user(public_id: Any) -> User:
    user = User.objects.filter(public_id=public_id).first()
    if user is None:
        raise Http404
    return user


@login_required
@require_GET
def my_account(request: HttpRequest) -> HttpResponse:
    user = request.user
    factors = Authenticator.objects.filter(user=user).values_list("type", flat=True)
    logins = Event.objects.filter(actor=user, action=Ev.LOGIN_SUCCEEDED).order_by("-id")[:10]
    return render(request, "accounts/my_account.html", {"factors": set(factors), "logins": logins})


@login_required
@require_POST
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    actions.logout_everywhere(actor=request.user, user=request.user)
    logout(request)
    return redirect("account_login")


@admin_required
@require_GET
def user_list(request: HttpRequest) -> HttpResponse:
    users = User.objects.order_by("-is_active", "role", "last_name").prefetch_related("assists")
    mfa_users = set(
        Authenticator.objects.filter(type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]).values_list(
            "user_id", flat=True
        )
    )
    return render(request, "accounts/user_list.html", {"users": users, "mfa_users": mfa_users})


@admin_required
@reauthentication_required
def user_create(request: HttpRequest) -> HttpResponse:
    form = forms.UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = actions.create_user(
                actor=request.user,
                username=data["username"],
                role=data["role"],
                password=data["password"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                profession=data["profession"],
                assists=list(data["assists"]),
            )
        except (actions.ActionError, ValidationError) as exc:
            show_refusal(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Compte créé. La personne choisira son mot de passe et son second facteur "
                    "à sa première connexion."
                ),
            )
            return redirect("user_detail", public_id=user.public_id)
    return render(request, "accounts/user_create.html", {"form": form})


@admin_required
@require_GET
def user_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    target = _get_user(public_id)
    return render(
        request,
        "accounts/user_detail.html",
        {
            "target": target,
            "role_form": forms.RoleForm(initial={"role": target.role}),
            "assists_form": forms.AssistsForm(initial={"assists": target.assists.all()}),
            "password_form": forms.PasswordResetByAdminForm(),
            "replacement_form": forms.ReplacementForm(),
            "factors": set(Authenticator.objects.filter(user=target).values_list("type", flat=True)),
            "replacements": target.replacements.select_related("titulaire"),
            "grant_requests": GrantRequest.objects.filter(account=target).select_related("titulaire")[:20],
        },
    )


def _run(request: HttpRequest, target: User, fn: Callable[[], GrantRequest | None], ok: str) -> HttpResponse:
    try:
        pending = fn()
    except (actions.ActionError, approvals.ActionError, ValidationError) as exc:
        for msg in getattr(exc, "messages", [str(exc)]):
            messages.error(request, msg)
    else:
        if pending is None:
            messages.success(request, ok)
        else:
            # It opens a titulaire's medical data: nothing happens before their approval.
            messages.warning(request, pending_message(pending))
    return redirect("user_detail", public_id=target.public_id)


def pending_message(pending: GrantRequest) -> str:
    if pending.self_concerned:
        return _(
            "Demande enregistrée, rien n'est encore changé : ce compte donne accès à des dossiers "
            "médicaux. Le référent sécurité pourra l'approuver à partir du %(when)s ; le titulaire "
            "en est averti et peut la refuser."
        ) % {"when": timezone.localtime(pending.fallback_at).strftime("%d/%m/%Y %H:%M")}
    return _(
        "Demande enregistrée, rien n'est encore changé : elle ouvre les dossiers de patients d'un "
        "titulaire, qui doit l'approuver (ou, à défaut, le référent sécurité à partir du %(when)s)."
    ) % {"when": timezone.localtime(pending.fallback_at).strftime("%d/%m/%Y %H:%M")}


@admin_required
@require_POST
@reauthentication_required
def user_role(request: HttpRequest, public_id: Any) -> HttpResponse:
    target = _get_user(public_id)
    form = forms.RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Rôle inconnu."))
        return redirect("user_detail", public_id=target.public_id)
    return _run(
        request, target, lambda: actions.change_role(actor=request.user, user=target, role=form.cleaned_data["role"]),
        _("Rôle modifié. Les sessions ouvertes de cette personne ont été fermées."),
    )


@admin_required
@require_POST
@reauthentication_required
def user_assists(request: HttpRequest, public_id: Any) -> HttpResponse:
    target = _get_user(public_id)
    form = forms.AssistsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choix invalide."))
        return redirect("user_detail", public_id=target.public_id)
    return _run(
        request, target,
        lambda: actions.set_assists(actor=request.user, user=target, practitioners=list(form.cleaned_data["assists"])),
        _("Praticiens mis à jour."),
    )


@admin_required
@require_POST
@reauthentication_required
def user_deactivate(request: HttpRequest, public_id: Any) -> HttpResponse:
    target = _get_user(public_id)
    return _run(
        request, target, lambda: actions.deactivate(actor=request.user, user=target),
        _("Compte désactivé : toutes ses sessions sont fermées."),
    )


@admin_required
@require_POST
@reauthentication_required
def user_reactivate(request: HttpRequest, public_id: Any) -> HttpResponse:
    target = _get_user(public_id)
    return _run(request, target, lambda: actions.reactivate(actor=request.user, user=target), _("Compte réactivé."))


@admin_required
@require_POST
@reauthentication_required
def user_reset_mfa(request: HttpRequest, public_id: Any) -> HttpResponse:
    target = _get_user(public_id)
    return _run(
        request, target, lambda: actions.reset_second_factor(actor=request.user, user=target),
        _("Second facteur réinitialisé : la personne en enregistrera un nouveau à sa prochaine connexion."),
    )


@admin_required
@require_POST
@reauthentication_required
def user_set_password(request: HttpRequest, public_id: Any) -> HttpResponse:
    target = _get_user(public_id)
    form = forms.PasswordResetByAdminForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Mot de passe manquant."))
        return redirect("user_detail", public_id=target.public_id)
    return _run(
        request, target,
        lambda: actions.set_password_by_admin(actor=request.user, user=target, password=form.cleaned_data["password"]),
        _("Mot de passe provisoire enregistré : il devra être changé à la prochaine connexion."),
    )


@admin_required
@require_POST
@reauthentication_required
def user_replacement(request: HttpRequest, public_id: Any) -> HttpResponse:
    target = _get_user(public_id)
    form = forms.ReplacementForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for msg in errors:
                messages.error(request, msg)
        return redirect("user_detail", public_id=target.public_id)
    data = form.cleaned_data
    return _run(
        request, target,
        lambda: actions.create_replacement(
            actor=request.user, remplacant=target, titulaire=data["titulaire"],
            starts_at=data["starts_at"], ends_at=data["ends_at"],
        ),
        _("Remplacement enregistré."),
    )
