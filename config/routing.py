"""WebSocket routes. Each app that serves a live feed adds its patterns here."""

from meetings.routing import websocket_urlpatterns as meeting_patterns

websocket_urlpatterns = [*meeting_patterns]
