from django.urls import path

from hygie.web import views

urlpatterns = [path("", views.dashboard, name="patient_list")]
