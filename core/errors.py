"""Domain errors raised by services. Messages name the problem and never contain a sensitive value."""

from __future__ import annotations


class DomainError(Exception):
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class ConflictError(DomainError):
    """An edit based on a stale version. Carries who changed it and the version now current."""

    code = "conflict"

    def __init__(self, message: str, *, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version


def check_version(current: int, submitted: int | None, what: str, changed_by: str = "") -> None:
    if submitted is None:
        raise DomainError("The version you edited is required.", field="version")
    if int(submitted) != current:
        who = f" by {changed_by}" if changed_by else ""
        raise ConflictError(
            f"This {what} was changed{who} since you opened it (now version {current}). "
            "Reload to see their change, then make yours again.",
            current_version=current,
        )
