from django.urls import path

from hygie.approvals import views

urlpatterns = [
    path("", views.grant_list, name="grant_list"),
    path("<uuid:public_id>/", views.grant_detail, name="grant_detail"),
    path("<uuid:public_id>/decider/", views.grant_decide, name="grant_decide"),
]
