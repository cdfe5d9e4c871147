from django.urls import path

from hygie.checklist import views

urlpatterns = [
    path("", views.checklist, name="checklist"),
    path("declarer/", views.declare, name="checklist_declare"),
    path("justificatifs/<uuid:public_id>/", views.proof_download, name="checklist_proof"),
    path("formations/", views.training_add, name="checklist_training"),
    path("affiche.pdf", views.poster, name="checklist_poster"),
]
