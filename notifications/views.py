"""The notification centre: list, mark read, mark all read, email preferences, follow one; the
header badge (a fragment re-fetched when the socket says something new arrived); the operations page.

Thin views: the policy answers what is the person's and where following leads; services write.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from agencies.models import User
from core.errors import DomainError
from sharing import policy

from .models import EmailMode, Kind, Notification
from .scheduler import job_statuses
from .services import do_mark_all_read, do_mark_read, do_set_preferences, preferences_for, unread_count

PAGE_SIZE = 50
BADGE_ITEMS = 5


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _own(request: HttpRequest, pk: str) -> Notification:
    return get_object_or_404(policy.notifications_visible_to(request.user), pk=pk)


@login_required
@require_GET
@never_cache
def notification_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    page = Paginator(policy.notifications_visible_to(user), PAGE_SIZE).get_page(request.GET.get("page"))
    prefs = preferences_for(user)
    kinds = [(kind, label, prefs[kind]) for kind, label in Kind.choices]
    return render(
        request,
        "notifications/list.html",
        {"page": page, "unread": unread_count(user), "kinds": kinds, "modes": EmailMode.choices},
    )


@login_required
@require_GET
@never_cache
def badge(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    latest = policy.notifications_visible_to(user).filter(read_at__isnull=True)[:BADGE_ITEMS]
    return render(
        request, "notifications/_badge.html", {"notice_count": unread_count(user), "notice_latest": latest}
    )


@login_required
@require_GET
def follow(request: HttpRequest, pk: str) -> HttpResponse:
    """Open what the notice is about, if the policy still allows it; otherwise not found."""
    notification = _own(request, pk)
    target = policy.notification_target(request.user, notification)
    if target is None and notification.about != "nothing":
        raise Http404
    do_mark_read(notification=notification, acting_user=_user(request))
    return HttpResponseRedirect(target or "/notifications/")


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: str) -> HttpResponse:
    do_mark_read(notification=_own(request, pk), acting_user=_user(request))
    return redirect("notifications:list")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = do_mark_all_read(acting_user=_user(request))
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked read.")
    return redirect("notifications:list")


@login_required
@require_POST
def preferences(request: HttpRequest) -> HttpResponse:
    choices = {kind: request.POST[kind] for kind in Kind.values if kind in request.POST}
    try:
        do_set_preferences(user=_user(request), choices=choices)
    except DomainError as exc:
        messages.error(request, f"{exc.field}: {exc.message}")
        return redirect("notifications:list")
    messages.success(request, "Email preferences saved.")
    return redirect("notifications:list")


@login_required
@require_GET
@never_cache
def operations(request: HttpRequest) -> HttpResponse:
    if not policy.can_view_operations(request.user):
        raise Http404
    from .models import JobRun

    return render(
        request,
        "notifications/operations.html",
        {"statuses": job_statuses(), "runs": JobRun.objects.order_by("-enqueued_at")[:100]},
    )
