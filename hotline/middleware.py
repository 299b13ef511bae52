import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from hotline.views import error_response

logger = logging.getLogger("hotline")


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
    stored (the request's transaction never committed)."""

    RETRY_AFTER_SECONDS = 5

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning("database unavailable: %s", exception)
        response = error_response(
            request, 503, "unavailable",
            "the database is unavailable for a moment: nothing was stored, please retry")
        response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        return response
