from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Chinese unless the user chose another language (the switch sets a cookie): a browser's
    Accept-Language alone does not turn the platform into English."""

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class DatabaseUnavailableMiddleware:
    """While the database cannot be reached (a restart, a failover), every request answers 503
    with Retry-After and says so, instead of a 500: the client may retry, and nothing was
    stored (the request's transaction never committed). The page is rendered without the
    request's context processors, which would need the database again."""

    RETRY_AFTER_SECONDS = 5

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.db import InterfaceError, OperationalError

        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        import logging

        from django.http import HttpResponse, JsonResponse
        from django.template.loader import render_to_string

        from hotline.views import API_PREFIXES

        logging.getLogger("hotline").warning("database unavailable: %s", exception)
        message = "the database is unavailable for a moment: nothing was stored, please retry"
        if request.path.startswith(API_PREFIXES):
            response = JsonResponse({"error": "unavailable", "message": message}, status=503)
        else:
            response = HttpResponse(
                render_to_string("error.html", {"status": 503, "message": message}), status=503)
        response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        return response
