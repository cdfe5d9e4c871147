"""Retention pages. Only random UUIDs in paths."""

from django.urls import path

from hygie.retention import views

urlpatterns = [
    path("", views.overview, name="retention"),
    path("a-detruire/", views.due_list, name="retention_due"),
    path("a-detruire/approuver/", views.approve, name="retention_approve"),
    path("archives/", views.archive_search, name="archive_search"),
    path("archives/<uuid:public_id>/", views.archive_open, name="archive_open"),
    path("dossier/<uuid:public_id>/suspendre/", views.hold_create, name="hold_create"),
    path("suspensions/<uuid:public_id>/lever/", views.hold_lift, name="hold_lift"),
]
