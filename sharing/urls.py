from __future__ import annotations

from django.urls import URLPattern, path

from . import views

app_name = "sharing"
urlpatterns: list[URLPattern] = [
    path("agreements/", views.agreement_list, name="agreement-list"),
    path("agreements/new/", views.agreement_draft, name="agreement-draft"),
    path("agreements/<uuid:pk>/", views.agreement_detail, name="agreement-detail"),
    path("agreements/<uuid:pk>/sign/", views.agreement_sign, name="agreement-sign"),
    path("agreements/<uuid:pk>/<str:action>/", views.agreement_status, name="agreement-status"),
    path("cases/<uuid:case_id>/shares/", views.case_shares, name="case-shares"),
    path("shares/<uuid:pk>/revoke/", views.share_revoke, name="share-revoke"),
    path("cases/<uuid:case_id>/break-glass/", views.break_glass, name="break-glass"),
    path("break-glass/", views.break_glass_queue, name="break-glass-queue"),
    path("break-glass/<uuid:pk>/review/", views.break_glass_review, name="break-glass-review"),
    path("cases/<uuid:case_id>/disclosures/", views.case_disclosures, name="case-disclosures"),
    path("match-notices/", views.match_notices, name="match-notices"),
    path("match-notices/<uuid:pk>/", views.match_notice, name="match-notice"),
]
