from django.urls import path

from . import onboarding_views, people_views, sso_views, views

app_name = "agencies"
urlpatterns = [
    path("signin/", views.signin, name="login"),
    path("signin/verify/", views.verify, name="verify"),
    path("signin/enrol/", views.enrol, name="enrol"),
    path("signin/sso/", sso_views.sso_start, name="sso_start"),
    path("signin/sso/<slug:slug>/begin/", sso_views.sso_begin, name="sso_begin"),
    path("signin/sso/<slug:slug>/callback/", sso_views.sso_callback, name="sso_callback"),
    path("signin/invitation/", onboarding_views.accept_invitation, name="invitation"),
    path("signin/invitation/open/", onboarding_views.open_invitation, name="invitation-open"),
    path("signout/", views.signout, name="logout"),
    path("signout/everywhere/", views.signout_everywhere, name="logout_everywhere"),
    path("people/", people_views.people, name="people"),
    path("people/<slug:slug>/", people_views.members, name="members"),
    path("people/<slug:slug>/single-sign-on/", sso_views.sso_settings, name="sso_settings"),
    path("people/<slug:slug>/add/", people_views.add_member, name="add_member"),
    path("people/<slug:slug>/<uuid:pk>/role/", people_views.change_role, name="change_role"),
    path("people/<slug:slug>/<uuid:pk>/end/", people_views.end_member, name="end_member"),
    path("operations/agencies/", onboarding_views.agency_list, name="onboarding"),
    path("operations/agencies/<slug:slug>/", onboarding_views.agency_detail, name="onboarding-agency"),
    path(
        "operations/agencies/<slug:slug>/deactivate/",
        onboarding_views.deactivate_agency,
        name="onboarding-deactivate",
    ),
    path(
        "operations/agencies/<slug:slug>/invitations/<uuid:pk>/withdraw/",
        onboarding_views.withdraw_invitation,
        name="onboarding-withdraw",
    ),
]
