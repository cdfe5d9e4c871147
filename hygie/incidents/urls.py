"""Incident pages. Only random UUIDs in paths."""

from django.urls import path

from hygie.incidents import views

urlpatterns = [
    path("", views.home, name="incidents"),
    path("isoler/", views.lockdown_start, name="incident_lockdown"),
    path("lever/", views.lockdown_lift, name="incident_lift"),
    path("contacts/", views.contacts, name="incident_contacts"),
    path("fiche-reflexe.pdf", views.fiche_pdf, name="incident_fiche_pdf"),
    path("exercice/", views.exercise_start, name="incident_exercise"),
    path("nouveau/", views.incident_open, name="incident_open"),
    path("<uuid:public_id>/", views.incident_detail, name="incident_detail"),
    path("<uuid:public_id>/chronologie/", views.incident_entry, name="incident_entry"),
    path("<uuid:public_id>/recenser/", views.incident_scope, name="incident_scope"),
    path("<uuid:public_id>/decision/", views.incident_decision, name="incident_decision"),
    path("<uuid:public_id>/notifie/", views.incident_notified, name="incident_notified"),
    path("<uuid:public_id>/art34/", views.incident_art34, name="incident_art34"),
    path("<uuid:public_id>/clore/", views.incident_close, name="incident_close"),
    path("<uuid:public_id>/etape/", views.incident_step, name="incident_step"),
    path("<uuid:public_id>/exercice/isoler/", views.incident_drill, name="incident_drill"),
    path("<uuid:public_id>/exercice/lever/", views.incident_drill_lift, name="incident_drill_lift"),
    path("<uuid:public_id>/cnil.txt", views.cnil_draft, name="incident_cnil"),
    path("<uuid:public_id>/preuves.zip", views.evidence_export, name="incident_evidence"),
    path("<uuid:public_id>/lettre/<uuid:patient_id>.pdf", views.patient_notice, name="incident_notice"),
]
