from django.urls import path

from hygie.backups import views

urlpatterns = [
    path("", views.backups, name="backups"),
    path("destinations/nouvelle/", views.target_create, name="backup_target_create"),
    path("destinations/<uuid:public_id>/", views.target_detail, name="backup_target_detail"),
    path("destinations/<uuid:public_id>/modifier/", views.target_edit, name="backup_target_edit"),
    path("destinations/<uuid:public_id>/supprimer/", views.target_remove, name="backup_target_remove"),
    path("destinations/<uuid:public_id>/tester/", views.target_test, name="backup_target_test"),
    path("lancer/", views.backup_request, name="backup_request"),
    path("test-restauration/", views.restore_test_request, name="restore_test_request"),
    path("avancement/", views.progress, name="backup_progress"),
]
