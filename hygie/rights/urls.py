"""Patients' rights pages. Only random UUIDs in paths."""

from django.urls import path

from hygie.rights import views

urlpatterns = [
    path("", views.register, name="rights"),
    path("dossier/<uuid:public_id>/nouvelle/", views.request_create, name="rights_request_create"),
    path("demandes/<uuid:public_id>/", views.request_detail, name="rights_request"),
    path("demandes/<uuid:public_id>/prolonger/", views.request_extend, name="rights_request_extend"),
    path("demandes/<uuid:public_id>/repondre/", views.request_answer, name="rights_request_answer"),
    path("demandes/<uuid:public_id>/refuser/", views.request_refuse, name="rights_request_refuse"),
    path("demandes/<uuid:public_id>/export/pdf/", views.export_pdf, name="rights_export_pdf"),
    path("demandes/<uuid:public_id>/export/fhir/", views.export_fhir, name="rights_export_fhir"),
    path("demandes/<uuid:public_id>/export/7z/", views.export_7z, name="rights_export_7z"),
    path("demandes/<uuid:public_id>/effacement/", views.erasure, name="rights_erasure"),
    path("demandes/<uuid:public_id>/effacement/accepter/", views.erasure_accept, name="rights_erasure_accept"),
    path("demandes/<uuid:public_id>/limitation/", views.restriction_set, name="rights_restriction_set"),
    path("limitations/<uuid:public_id>/lever/", views.restriction_lift, name="rights_restriction_lift"),
]
