from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("lifecycle/queue/", api.queue, name="lifecycle-queue"),
    path("lifecycle/decisions/", api.decisions, name="lifecycle-decisions"),
    path("lifecycle/holds/", api.holds, name="lifecycle-holds"),
    path("lifecycle/holds/<str:pk>/lift/", api.lift_hold, name="lifecycle-hold-lift"),
    path("lifecycle/certificates/", api.certificates, name="lifecycle-certificates"),
    path("lifecycle/certificates/<str:pk>/", api.certificate, name="lifecycle-certificate"),
    path("lifecycle/sars/", api.sars, name="lifecycle-sars"),
    path("lifecycle/sars/<str:pk>/export/", api.sar_export, name="lifecycle-sar-export"),
    path("lifecycle/rules/", api.rules, name="lifecycle-rules"),
]
