"""ASGI entry point: HTTP through Django, WebSockets through Channels (session auth; only the site's own
origins, by scheme, host and port: core/origins.py)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config import routing  # noqa: E402
from core.origins import SiteOriginValidator  # noqa: E402
from keystore.startup import refuse_to_start_without_keys  # noqa: E402

refuse_to_start_without_keys()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SiteOriginValidator(AuthMiddlewareStack(URLRouter(routing.websocket_urlpatterns))),
    }
)
