"""Sign-in: password (Argon2, axes lockout), then a mandatory TOTP second factor; sign-out."""

from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_ip_address
from axes.utils import reset as reset_failures
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Op
from audit.services import record_event
from core.errors import DomainError
from core.parsing import posted

from .forms import CodeForm, SignInForm
from .services import do_begin_totp_enrolment, do_confirm_totp_device, do_sign_out, do_sign_out_everywhere
from .sso_logout import provider_logout_page, provider_logout_url

ENROL_DEVICE = "convene_enrol_device"
LOCKED_MESSAGE = (
    "This account is locked after too many failed attempts from this address. "
    "Wait 30 minutes, or ask your agency admin to unlock it."
)


def lockout_response(
    request: HttpRequest, credentials: dict[str, Any] | None = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    form = SignInForm(initial={"username": (credentials or {}).get("username", "")})
    return render(request, "agencies/signin.html", {"form": form, "locked": LOCKED_MESSAGE}, status=429)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


def signin(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.user.is_verified():
        return redirect(_safe_next(request))
    form = SignInForm(posted(request))
    context: dict[str, Any] = {"form": form, "next": _safe_next(request)}
    if request.GET.get("expired"):
        context["notice"] = "Your session ended. Sign in again to carry on."
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if getattr(request, "axes_locked_out", False):
            return lockout_response(request, {"username": form.cleaned_data["username"]})
        if user is None:
            form.add_error(None, "The username or password is not right. Check them and try again.")
            context["error_field"] = "id_username"
        else:
            login(request, user)
            target = "agencies:verify" if user_has_device(user) else "agencies:enrol"
            response = redirect(target)
            request.session["convene_next"] = context["next"]
            return response
    return render(request, "agencies/signin.html", context, status=400 if form.errors else 200)


def _second_factor_failed(request: HttpRequest) -> HttpResponse | None:
    """Count a wrong code towards the lockout, like a wrong password."""
    user = request.user
    record_event(Op.OTP_FAILED, actor=user, outcome="denied")
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
    if AxesProxyHandler.is_locked(request, {"username": user.get_username()}):
        logout(request)
        return lockout_response(request, {"username": user.get_username()})
    return None


def _finish(request: HttpRequest, device: Any) -> HttpResponse:
    otp_login(request, device)
    request.session.cycle_key()
    # Only a completed sign-in (password and code) clears the failure count for this username and address;
    # a right password alone must not, or wrong codes could be tried without end.
    reset_failures(ip=get_client_ip_address(request), username=request.user.get_username())
    record_event(Op.SIGN_IN, actor=request.user, detail={"stage": "second_factor"})
    target = request.session.pop("convene_next", "/")
    return redirect(target)


def verify(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("agencies:login")
    if request.user.is_verified():
        return redirect("/")
    if not user_has_device(request.user):
        return redirect("agencies:enrol")
    if AxesProxyHandler.is_locked(request, {"username": request.user.get_username()}):
        logout(request)
        return lockout_response(request)
    form = CodeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        for device in TOTPDevice.objects.devices_for_user(request.user, confirmed=True):
            if device.verify_token(form.cleaned_data["code"]):
                return _finish(request, device)
        form.add_error("code", "The security code is not right, or has expired. Enter the current code.")
        locked = _second_factor_failed(request)
        if locked is not None:
            return locked
    return render(request, "agencies/verify.html", {"form": form}, status=400 if form.errors else 200)


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def enrol(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("agencies:login")
    if user_has_device(request.user):
        return redirect("agencies:verify")
    device = do_begin_totp_enrolment(acting_user=request.user, device_id=request.session.get(ENROL_DEVICE))
    if request.session.get(ENROL_DEVICE) != device.pk:
        request.session[ENROL_DEVICE] = device.pk
    form = CodeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            do_confirm_totp_device(device=device, acting_user=request.user, code=form.cleaned_data["code"])
        except DomainError as exc:
            form.add_error("code", exc.message)
            locked = _second_factor_failed(request)
            if locked is not None:
                return locked
        else:
            request.session.pop(ENROL_DEVICE, None)
            return _finish(request, device)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    context = {"form": form, "qr_svg": _qr_svg(device.config_url), "secret": secret}
    return render(request, "agencies/enrol.html", context, status=400 if form.errors else 200)


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    provider_logout = provider_logout_url(request)  # a session begun at a provider ends there too
    do_sign_out(request=request)
    if provider_logout:
        return provider_logout_page(request, provider_logout)
    messages.info(request, "You have signed out.")
    return redirect("agencies:login")


@require_POST
def signout_everywhere(request: HttpRequest) -> HttpResponse:
    """End every session of this person, on every device, and close their live connections."""
    if not request.user.is_authenticated:
        return redirect("agencies:login")
    do_sign_out_everywhere(request=request, acting_user=request.user)
    return redirect("/signin/?signedout=1")
