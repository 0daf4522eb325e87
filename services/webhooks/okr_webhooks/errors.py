"""The webhooks service's errors: domain names over the shared, transportable classes."""

from okr_shared.errors import Forbidden, NotFound


class EndpointNotFound(NotFound):
    def __init__(self, endpoint_id: int) -> None:
        super().__init__(f"webhook endpoint {endpoint_id} not found")


class NotAllowed(Forbidden):
    """The caller's role may never do this."""
