from __future__ import annotations

from django.urls import path

from . import views

app_name = "lifecycle"
urlpatterns = [
    path("", views.index, name="queue"),
    path("review/<str:record_type>/<str:pk>/", views.review, name="review"),
    path("holds/", views.holds, name="holds"),
    path("holds/<str:pk>/lift/", views.lift_hold, name="hold-lift"),
    path("certificates/", views.certificates, name="certificates"),
    path("certificates/<str:pk>/", views.certificate, name="certificate"),
    path("certificates/<str:pk>/download/", views.certificate_download, name="certificate-download"),
    path("sar/", views.sars, name="sars"),
    path("sar/<str:pk>/", views.sar, name="sar"),
    path("sar/<str:pk>/export.json", views.sar_json, name="sar-json"),
    path("rules/", views.rules, name="rules"),
]
