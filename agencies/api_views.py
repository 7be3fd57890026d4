"""Who am I, and my own API tokens."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from sharing import policy

from .models import ApiToken, Membership
from .requests import MemberApiRequest
from .services import do_revoke_token


class AgencyRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    agency_type = serializers.CharField()


class MembershipSerializer(serializers.ModelSerializer):
    agency = AgencyRefSerializer()

    class Meta:
        model = Membership
        fields = ["id", "agency", "role", "valid_from", "valid_to", "version"]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")
    is_demo = serializers.BooleanField()


class TokenSerializer(serializers.ModelSerializer):
    usable = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = ["id", "prefix", "name", "created_at", "expires_at", "revoked_at", "last_used_at", "usable"]

    def get_usable(self, token: ApiToken) -> bool:
        return token.is_usable()


class MeResponseSerializer(MeSerializer):
    authenticated_by = serializers.ChoiceField(choices=["session", "token"])
    memberships = MembershipSerializer(many=True)


class MeView(APIView):
    """The signed-in person (by session with both factors, or by token) and their current memberships."""

    @extend_schema(responses=MeResponseSerializer)
    def get(self, request: MemberApiRequest) -> Response:
        body: dict[str, Any] = dict(MeSerializer(request.user).data)
        body["authenticated_by"] = "token" if isinstance(request.auth, ApiToken) else "session"
        body["memberships"] = MembershipSerializer(policy.memberships(request.user), many=True).data
        return Response(body)


class MyTokensView(APIView):
    """My own API tokens (never their secrets, which are not stored)."""

    @extend_schema(responses=inline_serializer("TokenList", fields={"results": TokenSerializer(many=True)}))
    def get(self, request: MemberApiRequest) -> Response:
        tokens = ApiToken.objects.filter(user=request.user).order_by("-created_at")
        return Response({"results": TokenSerializer(tokens, many=True).data})


class RevokeMyTokenView(APIView):
    """Revoke one of my tokens. Someone else's token looks like a missing one (404)."""

    @extend_schema(request=None, responses=TokenSerializer)
    def post(self, request: MemberApiRequest, token_id: str) -> Response:
        token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
        token = do_revoke_token(token=token, acting_user=request.user)
        return Response(TokenSerializer(token).data)
