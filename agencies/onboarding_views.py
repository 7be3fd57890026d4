"""Onboarding: operators (superusers) create agencies, invite their first admin and deactivate them;
the invitee opens the link, chooses a username and password, then enrols a second factor.

Who may do what is answered by ``sharing.policy``; everyone else gets the same 404 as a missing page.
An invitation link that is wrong, expired, used or withdrawn gets one and the same answer.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError
from core.parsing import posted
from sharing import policy

from .forms import AcceptInvitationForm, CreateAgencyForm, InviteAdminForm, OpenInvitationForm
from .models import Agency, User
from .services import (
    InvitationUnusable,
    do_accept_invitation,
    do_create_agency,
    do_deactivate_agency,
    do_invite_agency_admin,
    do_withdraw_invitation,
    invitation_by_id,
    usable_invitation,
)

INVITATION_SESSION_KEY = "convene_invitation"


def _operator(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not policy.can_onboard_agencies(user):
        raise Http404("No such page.")
    return user


def _form_error(form: Any, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def invitation_link(request: HttpRequest | None, raw: str) -> str:
    """The link to hand over. Its token follows "#": browsers never send that part to the server, so
    it reaches no access log, proxy or Referer header (static/js/invitation.js posts it)."""
    from django.conf import settings

    path = reverse("agencies:invitation") + "#" + raw
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.CONVENE_BASE_URL.rstrip("/") + path


def _show_link(request: HttpRequest, agency: Agency, raw: str, status: int = 201) -> HttpResponse:
    response = render(
        request,
        "agencies/onboarding_link.html",
        {"agency": agency, "link": invitation_link(request, raw)},
        status=status,
    )
    add_never_cache_headers(response)
    return response


@require_http_methods(["GET", "POST"])
def agency_list(request: HttpRequest) -> HttpResponse:
    operator = _operator(request)
    form = CreateAgencyForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            agency = do_create_agency(
                name=data["name"],
                agency_type=data["agency_type"],
                area=data["area"],
                acting_user=operator,
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"{agency.name} created. Now invite its first admin.")
            return redirect("agencies:onboarding-agency", slug=agency.slug)
    agencies = Agency.objects.order_by("-is_active", "name")
    return render(
        request,
        "agencies/onboarding_agencies.html",
        {"form": form, "agencies": agencies},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def agency_detail(request: HttpRequest, slug: str) -> HttpResponse:
    operator = _operator(request)
    agency = get_object_or_404(Agency, slug=slug)
    form = InviteAdminForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _invitation, raw = do_invite_agency_admin(
                agency=agency,
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                acting_user=operator,
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            return _show_link(request, agency, raw)
    context = {
        "agency": agency,
        "form": form,
        "invitations": agency.invitations.select_related("accepted_by").order_by("-created_at"),
        "members": agency.memberships.filter(ended_at__isnull=True).count(),
    }
    return render(request, "agencies/onboarding_agency.html", context, status=400 if form.errors else 200)


@require_POST
def withdraw_invitation(request: HttpRequest, slug: str, pk: Any) -> HttpResponse:
    operator = _operator(request)
    agency = get_object_or_404(Agency, slug=slug)
    invitation = get_object_or_404(agency.invitations, pk=pk)
    try:
        do_withdraw_invitation(invitation=invitation, acting_user=operator)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Invitation withdrawn: its link no longer works.")
    return redirect("agencies:onboarding-agency", slug=slug)


@require_http_methods(["GET", "POST"])
def deactivate_agency(request: HttpRequest, slug: str) -> HttpResponse:
    operator = _operator(request)
    agency = get_object_or_404(Agency, slug=slug)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm") != agency.slug:
            error = f"Type {agency.slug} to confirm."
        else:
            try:
                ended = do_deactivate_agency(agency=agency, acting_user=operator)
            except DomainError as exc:
                error = exc.message
            else:
                messages.success(request, f"{agency.name} deactivated: {ended} membership(s) ended.")
                return redirect("agencies:onboarding-agency", slug=slug)
    return render(
        request,
        "agencies/onboarding_deactivate.html",
        {"agency": agency, "error": error},
        status=400 if error else 200,
    )


# --- the invitee -------------------------------------------------------------------------------
def _unusable(request: HttpRequest) -> HttpResponse:
    """One answer for a wrong, expired, used or withdrawn link."""
    request.session.pop(INVITATION_SESSION_KEY, None)
    response = render(request, "agencies/invitation_unusable.html", status=404)
    add_never_cache_headers(response)
    return response


@require_POST
def open_invitation(request: HttpRequest) -> HttpResponse:
    """The link's token, posted from the page (never in a URL): remember the invitation in this session."""
    form = OpenInvitationForm(request.POST)
    invitation = usable_invitation(form.cleaned_data["code"]) if form.is_valid() else None
    if invitation is None:
        return _unusable(request)
    if request.user.is_authenticated:
        logout(request)  # an invitation makes a new account; never attach it to someone signed in
    request.session[INVITATION_SESSION_KEY] = str(invitation.pk)
    response = redirect("agencies:invitation")
    add_never_cache_headers(response)
    return response


@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest) -> HttpResponse:
    """Where the link leads. Without an invitation in the session: the page that posts the link's token;
    with one: choose a username and password."""
    pk = request.session.get(INVITATION_SESSION_KEY)
    invitation = invitation_by_id(pk) if pk else None
    if invitation is None:
        if pk or request.method == "POST":  # it was withdrawn, expired or used meanwhile
            return _unusable(request)
        response = render(request, "agencies/invitation_open.html", {"form": OpenInvitationForm()})
        add_never_cache_headers(response)
        return response
    form = AcceptInvitationForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = do_accept_invitation(
                invitation=invitation, username=data["username"], password=data["password"]
            )
        except InvitationUnusable:
            return _unusable(request)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            request.session.pop(INVITATION_SESSION_KEY, None)
            # Signed in with the password only: the second factor is enrolled next, as for everyone.
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session["convene_next"] = reverse(
                "agencies:members", kwargs={"slug": invitation.agency.slug}
            )
            return redirect("agencies:enrol")
    response = render(
        request,
        "agencies/invitation_accept.html",
        {"form": form, "invitation": invitation},
        status=400 if form.errors else 200,
    )
    add_never_cache_headers(response)
    return response
