"""Pro Santé Connect administration. Only random UUIDs in paths (the login flow is under /auth/)."""

from django.urls import path

from hygie.psc import views

urlpatterns = [
    path("", views.overview, name="psc_admin"),
    path("<uuid:public_id>/detacher/", views.unlink, name="psc_unlink"),
    path("<uuid:public_id>/uniquement/", views.psc_only, name="psc_only"),
]
