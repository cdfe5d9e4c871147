"""The journal (referent, administrator) and a patient's access report (their practitioner).
Only random UUIDs and pseudonymous codes in URLs, never a name."""

from django.urls import path

from hygie.audit import views

urlpatterns = [
    path("", views.journal_view, name="journal"),
    path("verifier/", views.journal_verify, name="journal_verify"),
    path("alertes/", views.alert_list, name="alert_list"),
    path("alertes/<uuid:public_id>/acquitter/", views.alert_acknowledge, name="alert_acknowledge"),
    path("patients/<uuid:public_id>/acces/", views.patient_access_report, name="patient_access_report"),
    path("patients/<uuid:public_id>/acces/pdf/", views.patient_access_report_pdf, name="patient_access_report_pdf"),
]
