from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmark world and its runner; installed only so that ``manage.py seed_large`` exists."""

    name = "bench"
    verbose_name = "Benchmark"
