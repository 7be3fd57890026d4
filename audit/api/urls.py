from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("audit/events/", views.EventList.as_view(), name="audit-event-list"),
    path("audit/status/", views.ChainStatus.as_view(), name="audit-status"),
    path("audit/flags/", views.Flags.as_view(), name="audit-flags"),
]
