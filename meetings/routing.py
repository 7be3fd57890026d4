"""WebSocket routes for the live room and the general live feed (mounted by config/routing.py)."""

from __future__ import annotations

from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/meetings/<uuid:meeting_id>/", consumers.MeetingConsumer.as_asgi()),
    path("ws/live/", consumers.LiveFeedConsumer.as_asgi()),
]
