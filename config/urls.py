from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from audit import views as audit_views
from core import views as core_views

api_v1 = [
    path("", include("agencies.api_urls")),
    path("", include("cases.api.urls")),
    path("", include("sharing.api.urls")),
    path("", include("audit.api.urls")),
    path("", include("meetings.api_urls")),
    path("", include("lifecycle.api_urls")),
]

urlpatterns = [
    path(".well-known/convene-audit-keys.json", audit_views.signing_keys_document, name="audit-signing-keys"),
    path("", include("home.urls")),
    path("", include("agencies.urls")),
    path("cases/", include("cases.urls")),
    path("sharing/", include("sharing.urls")),
    path("audit/", include("audit.urls")),
    path("meetings/", include("meetings.urls")),
    path("lifecycle/", include("lifecycle.urls")),
    path("", include("notifications.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view loads its start-up script from a URL, not inline, so the CSP needs no exception.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    path("django-admin/", admin.site.urls),
]

handler404 = core_views.not_found
handler500 = core_views.server_error
