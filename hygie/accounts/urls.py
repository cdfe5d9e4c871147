from django.urls import path

from hygie.accounts import views

urlpatterns = [
    path("", views.my_account, name="my_account"),
    path("deconnecter-partout/", views.logout_everywhere, name="logout_everywhere"),
    path("utilisateurs/", views.user_list, name="user_list"),
    path("utilisateurs/nouveau/", views.user_create, name="user_create"),
    path("utilisateurs/<uuid:public_id>/", views.user_detail, name="user_detail"),
    path("utilisateurs/<uuid:public_id>/role/", views.user_role, name="user_role"),
    path("utilisateurs/<uuid:public_id>/praticiens/", views.user_assists, name="user_assists"),
    path("utilisateurs/<uuid:public_id>/desactiver/", views.user_deactivate, name="user_deactivate"),
    path("utilisateurs/<uuid:public_id>/reactiver/", views.user_reactivate, name="user_reactivate"),
    path("utilisateurs/<uuid:public_id>/second-facteur/", views.user_reset_mfa, name="user_reset_mfa"),
    path("utilisateurs/<uuid:public_id>/mot-de-passe/", views.user_set_password, name="user_set_password"),
    path("utilisateurs/<uuid:public_id>/remplacement/", views.user_replacement, name="user_replacement"),
]
