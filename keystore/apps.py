from django.apps import AppConfig


class KeystoreConfig(AppConfig):
    name = "keystore"
    verbose_name = "Key store"

    def ready(self) -> None:
        from . import checks  # noqa: F401
