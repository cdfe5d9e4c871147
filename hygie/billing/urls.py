from django.urls import path

from hygie.billing import views

urlpatterns = [
    path("", views.billing, name="billing"),
    path("nouvelle/", views.care_sheet_create, name="care_sheet_create"),
    path("<uuid:public_id>/modifier/", views.care_sheet_edit, name="care_sheet_edit"),
    path("<uuid:public_id>/reglement/", views.care_sheet_toggle_paid, name="care_sheet_toggle_paid"),
]
