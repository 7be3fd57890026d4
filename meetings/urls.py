from __future__ import annotations

from django.urls import path

from . import views

app_name = "meetings"
urlpatterns = [
    path("", views.meeting_list, name="list"),
    path("new/", views.meeting_schedule, name="schedule"),
    path("<uuid:pk>/", views.meeting_detail, name="detail"),
    path("<uuid:pk>/confidentiality/", views.acknowledge, name="acknowledge"),
    path("<uuid:pk>/room/", views.room_fragment, name="room"),
    path("<uuid:pk>/items/<uuid:item_id>/", views.item_fragment, name="item"),
    path("<uuid:pk>/start/", views.start, name="start"),
    path("<uuid:pk>/move/", views.move, name="move"),
    path("<uuid:pk>/sign-off/", views.sign_off, name="sign_off"),
    path("<uuid:pk>/agenda/propose/", views.propose, name="propose"),
    path("<uuid:pk>/agenda/add/", views.add_case, name="add_case"),
    path("<uuid:pk>/invite/", views.invite, name="invite"),
    path("<uuid:pk>/attendees/<uuid:attendee_id>/", views.attendance, name="attendance"),
    path("<uuid:pk>/items/<uuid:item_id>/remove/", views.remove_item, name="remove_item"),
    path("<uuid:pk>/items/<uuid:item_id>/minutes/", views.record_minutes, name="minutes_edit"),
    path("<uuid:pk>/items/<uuid:item_id>/decision/", views.record_decision, name="decision"),
    path("<uuid:pk>/items/<uuid:item_id>/dissent/", views.record_dissent, name="dissent"),
    path("<uuid:pk>/items/<uuid:item_id>/action/", views.add_action, name="action"),
    path("<uuid:pk>/items/<uuid:item_id>/exclude/", views.exclude, name="exclude"),
    path("<uuid:pk>/items/<uuid:item_id>/addendum/", views.add_addendum, name="addendum"),
    path("<uuid:pk>/minutes/", views.minutes, name="minutes"),
    path("<uuid:pk>/minutes/pdf/", views.minutes_pdf, name="minutes_pdf"),
    path("<uuid:pk>/summary/", views.summary, name="summary"),
]
