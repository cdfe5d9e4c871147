"""The structured record. Only random UUIDs in paths."""

from django.urls import path

from hygie.clinical import views

urlpatterns = [
    path("<uuid:public_id>/elements/", views.item_add, name="record_item_add"),
    path("<uuid:public_id>/brouillon/", views.draft_new, name="draft_new"),
    path("<uuid:public_id>/courrier/", views.letter_new, name="letter_new"),
    path("consultations/<uuid:public_id>/brouillon/", views.draft_edit, name="draft_edit"),
    path("elements/<uuid:public_id>/arreter/", views.item_end, name="record_item_end"),
    path("brouillons/<uuid:public_id>/abandonner/", views.draft_discard, name="draft_discard"),
    path("documents/<uuid:public_id>/voir/", views.document_view, name="document_view"),
    path("modeles/", views.template_list, name="letter_templates"),
    path("modeles/nouveau/", views.template_edit, name="letter_template_new"),
    path("modeles/<uuid:public_id>/", views.template_edit, name="letter_template_edit"),
]
