"""API plumbing shared by every app: one error shape, ``{"error", "message", "details"}``."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, parsers, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from hotline.errors import ServiceError


class JSONParser(parsers.JSONParser):
    """DRF's parser, except that a body nested deeper than the decoder's recursion limit
    (``[[[[…]]]]``) is a parse error (400) instead of an uncaught RecursionError (500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply")


class InputSerializer(serializers.Serializer):
    """A request body's serializer. Its fields are made afresh for each request from the
    arguments they were declared with, as DRF makes them, but without first deep-copying those
    arguments (choices, defaults, limits: nothing changes them in place): the intake body's
    twenty fields took about 0.24 ms that way, 0.16 ms this way, of a create's 3.5 to 4 ms of
    CPU (docs/benchmarks.md, "Intake's CPU")."""

    def get_fields(self):
        return {name: _made_afresh(field) for name, field in self._declared_fields.items()}


def _made_afresh(field: serializers.Field) -> serializers.Field:
    kwargs = dict(field._kwargs)
    if "child" in kwargs:  # a list's item field is bound to its list: each list its own
        kwargs["child"] = _made_afresh(kwargs["child"])
    return type(field)(*field._args, **kwargs)


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            text = _first_message(value)
            return text if key in ("detail", "non_field_errors") else f"{key}: {text}"
        return "invalid input"
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "invalid input"
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return Response(
            {"error": exc.code, "message": exc.message, "details": exc.details}, status=exc.status
        )
    # DRF turns these into its own exceptions only inside its handler: convert them first so
    # that the body says "not_found" / "forbidden" like every other 404 / 403.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(details)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
    body = {"error": code, "message": _first_message(detail)}
    if isinstance(detail, (dict, list)) and not (isinstance(detail, dict) and set(detail) == {"detail"}):
        body["details"] = detail
    response.data = body
    return response
