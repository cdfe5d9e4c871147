from django.urls import path

from hygie.web import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("session/verrouillee/", views.session_locked, name="session_locked"),
    path("session/verrouiller/", views.lock_now, name="session_lock_now"),
    path("session/activite/", views.heartbeat, name="session_heartbeat"),
    path("securite/second-facteur/", views.second_factor_required, name="second_factor_required"),
]
