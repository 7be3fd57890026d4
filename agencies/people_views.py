"""Agency admins manage the memberships of their own agencies (and never another agency's: 404)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from core.errors import ConflictError, DomainError
from core.parsing import posted
from sharing import policy

from .forms import AddMemberForm, ChangeRoleForm
from .models import Agency, Membership, User
from .requests import MemberRequest
from .services import do_add_membership, do_change_role, do_create_person, do_end_membership


def _administered_agency(request: MemberRequest, slug: str) -> Agency:
    """The agency, if this person administers it; otherwise it does not exist for them."""
    agency = Agency.objects.filter(slug=slug).first()
    if agency is None or not policy.can_manage_memberships(request.user, agency):
        raise Http404("No such agency.")
    return agency


def _membership(agency: Agency, pk: Any) -> Membership:
    return get_object_or_404(agency.memberships.select_related("user", "agency"), pk=pk)


def people(request: MemberRequest) -> HttpResponse:
    agencies = list(Agency.objects.filter(pk__in=policy.administered_agency_ids(request.user)))
    if not agencies:
        raise Http404("You administer no agency.")
    if len(agencies) == 1:
        return redirect("agencies:members", slug=agencies[0].slug)
    return render(request, "agencies/people.html", {"agencies": agencies})


def members(request: MemberRequest, slug: str) -> HttpResponse:
    agency = _administered_agency(request, slug)
    rows = list(agency.memberships.select_related("user", "ended_by").order_by("user__username", "role"))
    current = [m for m in rows if m.ended_at is None]
    ended = [m for m in rows if m.ended_at is not None]
    return render(request, "agencies/members.html", {"agency": agency, "current": current, "ended": ended})


@require_http_methods(["GET", "POST"])
def add_member(request: MemberRequest, slug: str) -> HttpResponse:
    agency = _administered_agency(request, slug)
    form = AddMemberForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                password = None
                if data["existing_username"]:
                    person = User.objects.filter(username=data["existing_username"].strip()).first()
                    if person is None:
                        raise DomainError(
                            "There is no account with that username.", field="existing_username"
                        )
                else:
                    person, password = do_create_person(
                        username=data["username"],
                        first_name=data["first_name"],
                        last_name=data["last_name"],
                        email=data["email"],
                        acting_user=request.user,
                    )
                membership = do_add_membership(
                    user=person,
                    agency=agency,
                    role=data["role"],
                    vetting_level=data["vetting_level"],
                    acting_user=request.user,
                )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            response = render(
                request,
                "agencies/member_added.html",
                {"agency": agency, "membership": membership, "password": password},
                status=201,
            )
            add_never_cache_headers(response)  # the one-time password must not be kept by any cache
            return response
    status = 400 if form.errors else 200
    return render(request, "agencies/member_add.html", {"agency": agency, "form": form}, status=status)


@require_http_methods(["GET", "POST"])
def change_role(request: MemberRequest, slug: str, pk: Any) -> HttpResponse:
    agency = _administered_agency(request, slug)
    membership = _membership(agency, pk)
    form = ChangeRoleForm(posted(request), initial={"role": membership.role, "version": membership.version})
    status = 200
    conflict = ""
    if request.method == "POST" and form.is_valid():
        try:
            updated = do_change_role(
                membership=membership,
                role=form.cleaned_data["role"],
                version=form.cleaned_data["version"],
                acting_user=request.user,
            )
        except ConflictError as exc:
            conflict, status = exc.message, 409
            membership.refresh_from_db()
        except DomainError as exc:
            form.add_error("role" if exc.field in (None, "role") else None, exc.message)
        else:
            messages.success(
                request, f"{updated.user} is now {updated.get_role_display().lower()} in {agency}."
            )
            return redirect("agencies:members", slug=agency.slug)
    if form.errors:
        status = 400
    context = {"agency": agency, "membership": membership, "form": form, "conflict": conflict}
    return render(request, "agencies/member_role.html", context, status=status)


@require_http_methods(["GET", "POST"])
def end_member(request: MemberRequest, slug: str, pk: Any) -> HttpResponse:
    agency = _administered_agency(request, slug)
    membership = _membership(agency, pk)
    error = ""
    if request.method == "POST":
        try:
            do_end_membership(membership=membership, acting_user=request.user)
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(
                request,
                f"{membership.user}'s role as {membership.get_role_display().lower()} has ended. "
                "Their access through it stopped at once.",
            )
            if not policy.can_manage_memberships(request.user, agency):
                return redirect("home:dashboard")
            return redirect("agencies:members", slug=agency.slug)
    context = {"agency": agency, "membership": membership, "error": error}
    return render(request, "agencies/member_end.html", context, status=400 if error else 200)
