from rest_framework.pagination import CursorPagination


class KeysetPagination(CursorPagination):
    """Keyset pagination, newest first: constant cost per page however deep the list goes."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
