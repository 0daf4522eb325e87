"""The error hierarchy that crosses process boundaries.

    OkrError                 base: a code, a message for the user, optional details
    ├── Invalid              the request is wrong: say what to fix         (HTTP 422)
    ├── NotFound             missing, or outside the caller's view         (HTTP 404)
    ├── Forbidden            the caller's role may never do this           (HTTP 403)
    ├── Conflict             stale version, duplicate, cycle               (HTTP 409)
    ├── Unavailable          a dependency did not answer; try again        (HTTP 503)
    └── Internal             a bug: logged with an id, never a traceback   (HTTP 500)

Services raise subclasses from `service.py`; request/reply carries `code`, `message` and
`details`; the gateway turns them back into these classes and renders them in one place.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OkrError(Exception):
    code: ClassVar[str] = "error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class Invalid(OkrError):
    code = "invalid"


class NotFound(OkrError):
    code = "not_found"


class Forbidden(OkrError):
    code = "forbidden"


class Conflict(OkrError):
    code = "conflict"


class Unavailable(OkrError):
    code = "unavailable"


class Internal(OkrError):
    code = "internal"


ERRORS_BY_CODE: dict[str, type[OkrError]] = {
    cls.code: cls for cls in (Invalid, NotFound, Forbidden, Conflict, Unavailable, Internal)
}


def error_from_dict(data: dict[str, Any]) -> OkrError:
    cls = ERRORS_BY_CODE.get(str(data.get("code")), Internal)
    return cls(str(data.get("message", "error")), details=list(data.get("details") or []))
