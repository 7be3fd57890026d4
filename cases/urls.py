from django.urls import path

from . import views

app_name = "cases"
urlpatterns: list = [
    path("", views.case_list, name="list"),
    path("new/", views.case_create, name="create"),
    path("<uuid:pk>/", views.case_detail, name="detail"),
    path("<uuid:pk>/summary/pdf/", views.case_summary_pdf, name="summary-pdf"),
    path("<uuid:pk>/edit/", views.case_edit, name="edit"),
    path("<uuid:pk>/status/", views.case_status, name="status"),
    path("<uuid:pk>/notes/new/", views.note_add, name="note-add"),
    path("<uuid:pk>/victims/new/", views.victim_add, name="victim-add"),
    path("<uuid:pk>/victims/<uuid:victim_id>/edit/", views.victim_edit, name="victim-edit"),
    path("<uuid:pk>/screening/", views.screening, name="screening"),
    path("<uuid:pk>/plan/edit/", views.plan_edit, name="plan-edit"),
    path("<uuid:pk>/assessments/new/", views.assessment_add, name="assessment-add"),
    path("<uuid:pk>/actions/new/", views.action_add, name="action-add"),
    path("<uuid:pk>/actions/<uuid:action_id>/status/", views.action_status, name="action-status"),
    path("<uuid:pk>/actions/<uuid:action_id>/reassign/", views.action_reassign, name="action-reassign"),
    path("<uuid:pk>/orders/new/", views.order_add, name="order-add"),
    path("<uuid:pk>/orders/<uuid:order_id>/conditions/new/", views.condition_add, name="condition-add"),
    path("<uuid:pk>/orders/<uuid:order_id>/breaches/new/", views.breach_add, name="breach-add"),
    path("<uuid:pk>/orders/<uuid:order_id>/events/new/", views.order_event_add, name="order-event-add"),
]
