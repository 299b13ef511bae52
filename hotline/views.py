"""Error pages: JSON under /api/ and /open311/, a page everywhere else."""

from django.http import JsonResponse
from django.shortcuts import render

API_PREFIXES = ("/api/", "/open311/")


def _error(request, status: int, code: str, message: str):
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"error": code, "message": message}, status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def not_found(request, exception=None):
    return _error(request, 404, "not_found", "no such page or resource")


def forbidden(request, exception=None):
    return _error(request, 403, "forbidden", "you may not see this")


def bad_request(request, exception=None):
    return _error(request, 400, "bad_request", "the request could not be understood")


def server_error(request):
    return _error(request, 500, "server_error", "something went wrong on our side; it is logged")
