from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Convene"

    def ready(self) -> None:
        from . import checks  # noqa: F401
