from django.urls import path

from hygie.compliance import views

urlpatterns = [
    path("", views.index, name="compliance"),
    path("profil/", views.profile, name="compliance_profile"),
    path("registre/", views.register_download, name="compliance_register"),
    path("sous-traitants/ajouter/", views.processor_add, name="compliance_processor_add"),
    path("sous-traitants/<uuid:public_id>/", views.processor_edit, name="compliance_processor_edit"),
    path("sous-traitants/<uuid:public_id>/retirer/", views.processor_remove, name="compliance_processor_remove"),
    path("sous-traitants/<uuid:public_id>/contrat/", views.contract_download, name="compliance_contract"),
    path("information/", views.notice, name="compliance_notice"),
    path("controle-cnil.zip", views.pack_download, name="compliance_pack"),
    path("controle-cnil-chiffre/", views.pack_7z, name="compliance_pack_7z"),
]
