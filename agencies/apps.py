from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "Agencies and people"

    def ready(self) -> None:
        from . import (
            auth_events,  # noqa: F401  (axes/login hooks that write audit events)
            schema,  # noqa: F401  (OpenAPI descriptions of the API authentications)
        )
