"""Where a request goes. One include per domain app; every view goes through hygie.access."""

from django.urls import include, path

urlpatterns = [
    path("", include("hygie.web.urls")),
    path("compte/", include("hygie.accounts.urls")),
    path("patients/", include("hygie.patients.urls")),
    path("agenda/", include("hygie.agenda.urls")),
    path("facturation/", include("hygie.billing.urls")),
    path("journal/", include("hygie.audit.urls")),
    path("cles/", include("hygie.keys.urls")),
    path("sauvegardes/", include("hygie.backups.urls")),
    path("approbations/", include("hygie.approvals.urls")),
    # Password reset by e-mail: closed unless HYGIE_PASSWORD_RESET_BY_EMAIL (before allauth's).
    path("auth/", include("hygie.accounts.reset_urls")),
    path("securite/", include("hygie.checklist.urls")),
    path("conservation/", include("hygie.retention.urls")),
    path("incidents/", include("hygie.incidents.urls")),
    path("droits/", include("hygie.rights.urls")),
    path("conformite/", include("hygie.compliance.urls")),
    path("pro-sante-connect/", include("hygie.psc.urls")),
    # allauth's social-account pages (connections, social sign-up): not used, closed (hygie.psc).
    path("auth/3rdparty/", include("hygie.psc.closed_urls")),
    path("echanges/", include("hygie.exchange.urls")),
    path("dossier/", include("hygie.clinical.urls")),
    # allauth: login, second factor, password change, re-authentication.
    path("auth/", include("allauth.urls")),
]

handler403 = "hygie.web.views.forbidden"
handler404 = "hygie.web.views.not_found"
handler500 = "hygie.web.views.server_error"
