"""Included by allauth under /auth/ (the provider's package): PSC's login and callback."""

from django.urls import path

from hygie.psc.oidc import views

urlpatterns = [
    path("psc/connexion/", views.login, name="psc_login"),
    path("psc/retour/", views.callback, name="psc_callback"),
]
