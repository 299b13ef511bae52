"""Error pages: JSON under /api/ and /open311/, a page everywhere else."""

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

API_PREFIXES = ("/api/", "/open311/")


def error_response(request, status: int, code: str, message: str):
    """The error in the form the URL asks for. The page is rendered without the request's
    context processors: they read the user from the database, which may be what failed."""
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"error": code, "message": message}, status=status)
    return HttpResponse(render_to_string("error.html", {"status": status, "message": message}),
                        status=status)


def not_found(request, exception=None):
    return error_response(request, 404, "not_found", "no such page or resource")


def forbidden(request, exception=None):
    return error_response(request, 403, "forbidden", "you may not see this")


def bad_request(request, exception=None):
    return error_response(request, 400, "bad_request", "the request could not be understood")


def server_error(request):
    return error_response(request, 500, "server_error",
                          "something went wrong on our side; it is logged")
