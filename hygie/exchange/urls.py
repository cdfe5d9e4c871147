"""Secure exchange pages. Only random UUIDs in paths."""

from django.urls import path

from hygie.exchange import views

urlpatterns = [
    path("dossier/<uuid:public_id>/envoyer/", views.send, name="exchange_send"),
    path("dossier/<uuid:public_id>/recevoir/", views.receive, name="exchange_receive"),
    path("archives/<uuid:public_id>/", views.download, name="exchange_download"),
    path("remises/<uuid:public_id>/", views.handoff_download, name="exchange_handoff_download"),
    path("messagerie/", views.account, name="mssante_account"),
    path("adresses/", views.recipients, name="mssante_recipients"),
    path("adresses/<uuid:public_id>/retirer/", views.recipient_remove, name="mssante_recipient_remove"),
]
