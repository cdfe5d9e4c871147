from django.urls import path

from hygie.keys import views

urlpatterns = [
    path("kit-de-recuperation/", views.recovery_kit, name="recovery_kit"),
    path("deverrouiller/", views.unlock, name="keys_unlock"),
]
