from __future__ import annotations

from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/badge/", views.badge, name="badge"),
    path("notifications/read-all/", views.mark_all_read, name="read-all"),
    path("notifications/preferences/", views.preferences, name="preferences"),
    path("notifications/<uuid:pk>/", views.follow, name="follow"),
    path("notifications/<uuid:pk>/read/", views.mark_read, name="read"),
    path("operations/jobs/", views.operations, name="operations"),
]
