from django.urls import path

from hygie.billing import views

urlpatterns = [
    path("", views.billing, name="billing"),
    path("nouvelle/", views.care_sheet_create, name="care_sheet_create"),
    path("export.csv", views.billing_export, name="billing_export"),
    path("actes-habituels/", views.favourites, name="billing_favourites"),
    path("actes-habituels/<uuid:public_id>/retirer/", views.favourite_remove, name="billing_favourite_remove"),
    path("<uuid:public_id>/note-honoraires.pdf", views.care_sheet_receipt, name="care_sheet_receipt"),
    path("<uuid:public_id>/modifier/", views.care_sheet_edit, name="care_sheet_edit"),
    path("<uuid:public_id>/reglement/", views.care_sheet_toggle_paid, name="care_sheet_toggle_paid"),
]
