from django.urls import path

from hygie.agenda import views

urlpatterns = [
    path("", views.agenda, name="agenda"),
    path("nouveau/", views.appointment_create, name="appointment_create"),
    path("patients/", views.patient_search, name="agenda_patient_search"),
    path("<uuid:public_id>/modifier/", views.appointment_edit, name="appointment_edit"),
    path("<uuid:public_id>/annuler/", views.appointment_cancel, name="appointment_cancel"),
]
