"""Patient pages. Only random UUIDs in paths; names travel in POST bodies, never in URLs."""

from django.urls import path

from hygie.patients import views

urlpatterns = [
    path("", views.patient_list, name="patient_list"),
    path("recherche/", views.patient_search, name="patient_search"),
    # An opaque, short-lived id of results kept in the session (hygie.patients.searches).
    path("recherche/<slug:token>/", views.patient_search_results, name="patient_search_results"),
    path("nouveau/", views.patient_create, name="patient_create"),
    path("<uuid:public_id>/", views.patient_detail, name="patient_detail"),
    path("<uuid:public_id>/modifier/", views.patient_edit, name="patient_edit"),
    path("<uuid:public_id>/antecedents/", views.history_edit, name="history_edit"),
    path("<uuid:public_id>/antecedents/historique/", views.history_revisions, name="history_revisions"),
    path("<uuid:public_id>/consultations/nouvelle/", views.consultation_create, name="consultation_create"),
    path("<uuid:public_id>/documents/ajouter/", views.document_upload, name="document_upload"),
    path("<uuid:public_id>/equipe/", views.care_team, name="care_team"),
    path("<uuid:public_id>/effacer/", views.patient_erase, name="patient_erase"),
    path("consultations/<uuid:public_id>/", views.consultation_detail, name="consultation_detail"),
    path("consultations/<uuid:public_id>/modifier/", views.consultation_edit, name="consultation_edit"),
    path("consultations/<uuid:public_id>/historique/", views.consultation_revisions, name="consultation_revisions"),
    path("documents/<uuid:public_id>/", views.document_download, name="document_download"),
    path("acces-exceptionnel/", views.break_glass_search, name="break_glass_search"),
    path("acces-exceptionnel/<uuid:public_id>/", views.break_glass_open, name="break_glass_open"),
]
