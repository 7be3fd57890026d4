from django.urls import path

from . import api_views

urlpatterns: list = [
    path("me/", api_views.MeView.as_view(), name="me"),
    path("me/tokens/", api_views.MyTokensView.as_view(), name="my-tokens"),
    path("me/tokens/<uuid:token_id>/revoke/", api_views.RevokeMyTokenView.as_view(), name="revoke-my-token"),
]
