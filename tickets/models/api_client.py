"""Outside systems that file requests through the API (Open311)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiClient(models.Model):
    """An outside system that files requests (Open311 ``api_key``). Orders it files are taken
    in the name of its service ``user``."""

    name = models.CharField(_("name"), max_length=100)
    api_key = models.CharField(_("API key"), max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("acts as"),
                             on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return self.name
