from __future__ import annotations

from django.urls import URLPattern, path

from . import views

app_name = "audit"
urlpatterns: list[URLPattern] = [
    path("", views.event_list, name="events"),
    path("events.csv", views.export_csv, name="export"),
    path("case/<uuid:case_id>/", views.case_trail, name="case"),
    path("people/<int:user_id>/", views.person_trail, name="person"),
    path("activity/", views.activity, name="activity"),
    path("flags/", views.flags, name="flags"),
    path("status/", views.chain_status, name="status"),
]
