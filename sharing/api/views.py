"""REST API for agreements, case shares, break-glass and disclosures. Thin: parse, ask the policy,
call a service, respond. Things the user may not see are 404; bad input is 400 naming the field."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.models import Agency, User
from agencies.requests import MemberApiRequest, member
from audit.services import consult
from core.errors import DomainError
from core.pagination import KeysetPagination
from core.parsing import is_whole_number

from .. import policy, services
from ..models import AgreementParty, BreakGlass, CaseShare, Disclosure, MatchNotice, SharingAgreement
from . import serializers as s


class BreakGlassPagination(KeysetPagination):
    ordering = ("-opened_at", "-id")


def _forbidden(message: str) -> exceptions.PermissionDenied:
    return exceptions.PermissionDenied(message)


def _visible_agreement(user: Any, pk: Any) -> SharingAgreement:
    agreement = policy.agreements_visible_to(user).filter(pk=pk).first()
    if agreement is None:
        raise Http404("No such agreement.")
    return agreement


def _agency(pk: Any, field: str) -> Agency:
    agency = Agency.objects.filter(pk=pk, is_active=True).first()
    if agency is None:
        raise DomainError("No such agency.", field=field)
    return agency


def _consult_shares(user: Any, case: Any, access: policy.Access) -> None:
    """Reading who a case is shared with is a consultation of the case (audited, with justification)."""
    consult(
        user,
        CaseShare,
        access.justification,
        agency=_agency(access.agency_id, "agency"),
        role=access.role,
        case_id=case.pk,
        grant=access,
        detail={"view": "share_list"},
    )


# --- agreements -----------------------------------------------------------------------------
class AgreementList(generics.ListCreateAPIView[SharingAgreement]):
    """Agreements your agencies drafted or are party to. Filter with ?status=active&agency=<id>."""

    serializer_class = s.AgreementSerializer

    def get_queryset(self) -> QuerySet[SharingAgreement]:
        qs = policy.agreements_visible_to(self.request.user).select_related("drafted_by_agency")
        status_filter = self.request.query_params.get("status")
        if status_filter:
            qs = qs.filter(status=status_filter)
        agency = self.request.query_params.get("agency")
        if is_whole_number(agency):
            qs = qs.filter(
                Exists(
                    policy.agreement_parties(qs).filter(agreement_id=OuterRef("pk"), agency_id=int(agency))
                )
            )
        return qs.prefetch_related("parties__agency")

    @extend_schema(request=s.AgreementCreateSerializer, responses={201: s.AgreementSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = member(request)
        if not policy.can_draft_agreement(user):
            raise _forbidden("Only an agency admin drafts agreements.")
        data = s.AgreementCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        administered = policy.administered_agency_ids(user)
        drafted_by_id = values.pop("drafted_by_agency", None) or min(administered)
        if drafted_by_id not in administered:
            raise DomainError("You draft in the name of an agency you administer.", field="drafted_by_agency")
        parties = [
            {
                "agency": _agency(p["agency"], "parties"),
                "legal_gateway": p["legal_gateway"],
                "categories": p["categories"],
            }
            for p in values.pop("parties")
        ]
        agreement = services.do_create_agreement(
            **values,
            drafted_by=_agency(drafted_by_id, "drafted_by_agency"),
            acting_user=user,
            parties=parties,
        )
        return Response(s.AgreementSerializer(agreement).data, status=status.HTTP_201_CREATED)


class AgreementDetail(APIView):
    @extend_schema(responses=s.AgreementSerializer)
    def get(self, request: MemberApiRequest, pk: str) -> Response:
        return Response(s.AgreementSerializer(_visible_agreement(member(request), pk)).data)


class AgreementSign(APIView):
    @extend_schema(request=s.SignSerializer, responses=s.AgreementSerializer)
    def post(self, request: MemberApiRequest, pk: str) -> Response:
        agreement = _visible_agreement(member(request), pk)
        data = s.SignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        mine = policy.parties_user_may_sign(member(request), agreement)
        wanted = data.validated_data.get("agency")
        candidates = [p for p in mine if wanted is None or p.agency_id == wanted]
        if not candidates:
            raise _forbidden("Only an admin of a party agency signs for it.")
        party: AgreementParty = candidates[0]
        services.do_sign_agreement(
            party=party,
            signatory_name=data.validated_data["signatory_name"],
            signatory_role=data.validated_data["signatory_role"],
            acting_user=member(request),
        )
        agreement.refresh_from_db()
        return Response(s.AgreementSerializer(agreement).data)


class AgreementStatusChange(APIView):
    target = ""
    rule = staticmethod(policy.can_manage_agreement)

    @extend_schema(request=s.StatusChangeSerializer, responses=s.AgreementSerializer)
    def post(self, request: MemberApiRequest, pk: str) -> Response:
        agreement = _visible_agreement(member(request), pk)
        if not self.rule(member(request), agreement):
            raise _forbidden("You may not change this agreement's status.")
        data = s.StatusChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agreement = services.do_change_agreement_status(
            agreement=agreement,
            status=self.target,
            acting_user=member(request),
            reason=data.validated_data["reason"],
            version=data.validated_data["version"],
        )
        return Response(s.AgreementSerializer(agreement).data)


class AgreementActivate(AgreementStatusChange):
    target = "active"
    rule = staticmethod(policy.can_activate_agreement)


class AgreementSuspend(AgreementStatusChange):
    target = "suspended"
    rule = staticmethod(policy.can_suspend_agreement)


class AgreementTerminate(AgreementStatusChange):
    target = "terminated"
    rule = staticmethod(policy.can_terminate_agreement)


# --- case shares ----------------------------------------------------------------------------
class CaseShareList(generics.ListCreateAPIView[CaseShare]):
    """Shares of one case: the lead agency sees all, a partner its own. ?live=true for live only."""

    serializer_class = s.ShareSerializer

    def get_queryset(self) -> QuerySet[CaseShare]:
        self.case, self.access = policy.access_case(self.request.user, self.kwargs["case_id"])
        qs = policy.shares_visible_to(self.request.user, self.case).select_related("agency", "agreement")
        if self.request.query_params.get("live") in ("1", "true"):
            qs = qs.filter(pk__in=policy.live_shares_visible_to(self.request.user, self.case).values("pk"))
        return qs

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        _consult_shares(member(request), self.case, self.access)
        return response

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        case = getattr(self, "case", None)  # set by get_queryset, after the policy let the user in
        live = policy.live_shares_visible_to(self.request.user, case) if case is not None else None
        context["live_ids"] = set(live.values_list("pk", flat=True)) if live is not None else set()
        return context

    @extend_schema(request=s.ShareCreateSerializer, responses={201: s.ShareSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        case, access = policy.access_case(member(request), kwargs["case_id"])
        if not policy.can_share_case(member(request), case):
            raise _forbidden("Only the case owner or a chair of the lead agency shares this case.")
        data = s.ShareCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        agreement = policy.agreements_visible_to(member(request)).filter(pk=values["agreement"]).first()
        if agreement is None:
            raise DomainError("No such agreement.", field="agreement")
        share = services.do_share_case(
            case=case,
            agency=_agency(values["agency"], "agency"),
            agreement=agreement,
            categories=values["categories"],
            purpose=values["purpose"],
            valid_to=values["valid_to"],
            acting_user=member(request),
            acting_agency=_agency(access.agency_id, "agency"),
        )
        return Response(
            s.ShareSerializer(share, context={"live_ids": {share.pk}}).data, status=status.HTTP_201_CREATED
        )


class ShareRevoke(APIView):
    @extend_schema(request=s.ReasonSerializer, responses=s.ShareSerializer)
    def post(self, request: MemberApiRequest, pk: str) -> Response:
        share, case, access = policy.access_share(member(request), pk)
        if not policy.can_revoke_share(member(request), share):
            raise _forbidden("Only the case owner or a chair of the lead agency revokes a share.")
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        share = services.do_revoke_share(
            share=share,
            reason=data.validated_data["reason"],
            acting_user=member(request),
            acting_agency=_agency(access.agency_id, "agency"),
        )
        return Response(s.ShareSerializer(share, context={"live_ids": set()}).data)


# --- break-glass ----------------------------------------------------------------------------
class BreakGlassOpen(APIView):
    """Open a case not shared with you, giving a typed reason (at least 10 characters)."""

    @extend_schema(request=s.BreakGlassOpenSerializer, responses={201: s.BreakGlassSerializer})
    def post(self, request: MemberApiRequest, case_id: str) -> Response:
        case = policy.case_for_break_glass(member(request), case_id)
        if case is None:
            raise Http404("No such case.")
        agreements = policy.break_glass_agreements(member(request), case)
        if not agreements.exists():
            raise Http404("No such case.")
        data = s.BreakGlassOpenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wanted = data.validated_data.get("agreement")
        agreement = agreements.filter(pk=wanted).first() if wanted else agreements.first()
        if agreement is None:
            raise DomainError(
                "Choose an agreement in force between your agency and the lead.", field="agreement"
            )
        agency_ids = policy.break_glass_agency_ids(member(request), agreement)
        glass = services.do_break_glass(
            case=case,
            user=member(request),
            agency=_agency(agency_ids[0], "agency"),
            agreement=agreement,
            reason=data.validated_data["reason"],
        )
        return Response(s.BreakGlassSerializer(glass).data, status=status.HTTP_201_CREATED)


class BreakGlassQueue(generics.ListAPIView[BreakGlass]):
    """Break-glass uses for review by the lead agency's chairs and auditors. ?state=all for reviewed too."""

    serializer_class = s.BreakGlassSerializer
    pagination_class = BreakGlassPagination

    def get_queryset(self) -> QuerySet[BreakGlass]:
        user = self.request.user
        state = "all" if self.request.query_params.get("state") == "all" else "pending"
        return policy.break_glass_queue(user, state).select_related("case", "user", "agency", "agreement")


class BreakGlassReview(APIView):
    @extend_schema(request=s.BreakGlassReviewSerializer, responses=s.BreakGlassSerializer)
    def post(self, request: MemberApiRequest, pk: str) -> Response:
        glass = policy.access_break_glass_for_review(member(request), pk)
        if not policy.can_review_break_glass(member(request), glass):
            raise _forbidden("Only a chair or auditor of the lead agency reviews, once.")
        data = s.BreakGlassReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        glass = services.do_review_break_glass(
            glass=glass,
            outcome=data.validated_data["outcome"],
            note=data.validated_data["note"],
            acting_user=member(request),
        )
        return Response(s.BreakGlassSerializer(glass).data)


# --- disclosures ----------------------------------------------------------------------------
class CaseDisclosureList(generics.ListCreateAPIView[Disclosure]):
    """Disclosures of one case to third parties (the lead agency's log). Reading it is audited."""

    serializer_class = s.DisclosureSerializer

    def get_queryset(self) -> QuerySet[Disclosure]:
        case, _ = policy.access_case(self.request.user, self.kwargs["case_id"])
        if not policy.can_view_disclosures(self.request.user, case):
            raise Http404("No such case.")
        self.case = case
        return policy.disclosures_visible_to(self.request.user, case).select_related("case")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        _, access = policy.access_case(member(request), kwargs["case_id"])
        consult(
            member(request),
            Disclosure,
            access.justification,
            agency=_agency(access.agency_id, "agency"),
            role=access.role,
            case_id=self.case.pk,
            detail={"view": "disclosure_log"},
        )
        return response

    @extend_schema(request=s.DisclosureCreateSerializer, responses={201: s.DisclosureSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        case, access = policy.access_case(member(request), kwargs["case_id"])
        if not policy.can_view_disclosures(member(request), case):
            raise Http404("No such case.")
        if not policy.can_disclose_case(member(request), case):
            raise _forbidden("Only the case owner or a chair of the lead agency records a disclosure.")
        data = s.DisclosureCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        approver = User.objects.filter(pk=values.pop("approved_by"), is_active=True).first()
        disclosure = services.do_record_disclosure(
            case=case,
            agency=_agency(access.agency_id, "agency"),
            approved_by=approver,
            acting_user=member(request),
            **values,
        )
        return Response(s.DisclosureSerializer(disclosure).data, status=status.HTTP_201_CREATED)


# --- match notices (for the lead agency's chairs) -----------------------------------------------
class MatchNoticePagination(KeysetPagination):
    ordering = ("-created_at", "-id")


def _visible_notice(user: Any, pk: Any) -> MatchNotice:
    notice = (
        policy.match_notices_visible_to(user)
        .select_related("case", "referring_agency", "holder_agency")
        .filter(pk=pk)
        .first()
    )
    if notice is None:
        raise Http404("No such notice.")
    return notice


class MatchNoticeList(generics.ListAPIView[MatchNotice]):
    """Partners' referrals that matched a case your agency leads (chairs of the lead agency)."""

    serializer_class = s.MatchNoticeSerializer
    pagination_class = MatchNoticePagination

    def get_queryset(self) -> QuerySet[MatchNotice]:
        return policy.match_notices_visible_to(self.request.user).select_related("case", "referring_agency")


class MatchNoticeShare(APIView):
    @extend_schema(request=s.MatchNoticeShareSerializer, responses={201: s.ShareSerializer})
    def post(self, request: MemberApiRequest, pk: str) -> Response:
        notice = _visible_notice(member(request), pk)
        if not policy.can_decide_match_notice(member(request), notice):
            raise Http404("No such notice.")
        data = s.MatchNoticeShareSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agreement = policy.match_notice_agreements(notice).filter(pk=data.validated_data["agreement"]).first()
        if agreement is None:
            raise DomainError("Choose an agreement in force with the referring agency.", field="agreement")
        share = services.do_share_from_match_notice(
            notice=notice,
            agreement=agreement,
            categories=data.validated_data["categories"],
            purpose=data.validated_data["purpose"],
            acting_user=member(request),
            acting_agency=notice.holder_agency,
        )
        return Response(s.ShareSerializer(share).data, status=status.HTTP_201_CREATED)


class MatchNoticeDismiss(APIView):
    @extend_schema(request=None, responses=s.MatchNoticeSerializer)
    def post(self, request: MemberApiRequest, pk: str) -> Response:
        notice = _visible_notice(member(request), pk)
        if not policy.can_decide_match_notice(member(request), notice):
            raise Http404("No such notice.")
        notice = services.do_dismiss_match_notice(
            notice=notice, acting_user=member(request), acting_agency=notice.holder_agency
        )
        return Response(s.MatchNoticeSerializer(notice).data)
