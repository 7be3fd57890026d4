from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "Agencies and people"

    def ready(self) -> None:
        from . import (
            auth_events,  # noqa: F401  (axes/login hooks that write audit events)
            checks,  # noqa: F401  (convene.E010: no demo account where they are refused)
            schema,  # noqa: F401  (OpenAPI descriptions of the API authentications)
        )
