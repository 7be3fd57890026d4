from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("agreements/", views.AgreementList.as_view(), name="agreement-list"),
    path("agreements/<uuid:pk>/", views.AgreementDetail.as_view(), name="agreement-detail"),
    path("agreements/<uuid:pk>/sign/", views.AgreementSign.as_view(), name="agreement-sign"),
    path("agreements/<uuid:pk>/activate/", views.AgreementActivate.as_view(), name="agreement-activate"),
    path("agreements/<uuid:pk>/suspend/", views.AgreementSuspend.as_view(), name="agreement-suspend"),
    path("agreements/<uuid:pk>/terminate/", views.AgreementTerminate.as_view(), name="agreement-terminate"),
    path("cases/<uuid:case_id>/shares/", views.CaseShareList.as_view(), name="case-share-list"),
    path("shares/<uuid:pk>/revoke/", views.ShareRevoke.as_view(), name="share-revoke"),
    path("cases/<uuid:case_id>/break-glass/", views.BreakGlassOpen.as_view(), name="case-break-glass"),
    path("break-glass/", views.BreakGlassQueue.as_view(), name="break-glass-list"),
    path("break-glass/<uuid:pk>/review/", views.BreakGlassReview.as_view(), name="break-glass-review"),
    path("match-notices/", views.MatchNoticeList.as_view(), name="match-notice-list"),
    path("match-notices/<uuid:pk>/share/", views.MatchNoticeShare.as_view(), name="match-notice-share"),
    path("match-notices/<uuid:pk>/dismiss/", views.MatchNoticeDismiss.as_view(), name="match-notice-dismiss"),
    path(
        "cases/<uuid:case_id>/disclosures/", views.CaseDisclosureList.as_view(), name="case-disclosure-list"
    ),
]
