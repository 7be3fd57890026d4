from django.apps import AppConfig


class HomeConfig(AppConfig):
    """The top floor: pages that gather from every app (the dashboard by role, the health endpoints)
    and the commands that assemble the whole site (seed_demo, run_embedded). Nothing imports home."""

    name = "home"
    verbose_name = "Home"
