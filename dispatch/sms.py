"""Pluggable SMS gateway. Production sets ``HOTLINE_SMS_BACKEND`` to a class with a
``send(phone, text)`` method that talks to the city's gateway; the default logs."""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("hotline.sms")


class LoggingBackend:
    def send(self, phone: str, text: str) -> None:
        logger.info("SMS to %s: %s", phone, text)


def backend():
    return import_string(getattr(settings, "HOTLINE_SMS_BACKEND", "dispatch.sms.LoggingBackend"))()
