"""Errors that services raise and every interface (API, pages, admin, commands) turns into a
clear message with the right status: never a 500."""


class ServiceError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class Invalid(ServiceError):
    """The input is wrong: 400."""


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    """The order is no longer in a state where the action applies (someone else acted first,
    or the action never applied here): 409."""

    status = 409
    code = "conflict"
