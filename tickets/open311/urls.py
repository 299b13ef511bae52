"""Discovery and the URL map of /open311/."""


from django.conf import settings
from django.urls import path, re_path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from .base import (
    CHANGESET,
    CONTENT_TYPES,
    SPECIFICATION,
    Open311Error,
    _negotiated,
    _render,
    _render_error,
    open311,
)
from .filing import request_list
from .reading import request_detail, service_definition, service_list, token_detail


# -- discovery ------------------------------------------------------------------------------------

def _discovery(request) -> dict:
    conf = getattr(settings, "OPEN311", {})
    return {
        "changeset": CHANGESET,
        "contact": conf.get("CONTACT", _("12345 citizen service hotline centre: call 12345")),
        "key_service": conf.get("KEY_SERVICE", _(
            "API keys (api_key) are issued by the hotline centre's administrators.")),
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": request.build_absolute_uri(reverse("open311:root")),
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }


@open311("GET", "HEAD")
def discovery(request, fmt):
    return "discovery", _discovery(request)


@csrf_exempt
def root(request):
    """The endpoint's own URL answers with the discovery (the spec's suggestion)."""
    return _render(_negotiated(request), "discovery", _discovery(request))


@csrf_exempt
def not_found(request, **kwargs):
    # A path that ends in .xml or .json asked for that format even if it names nothing.
    fmt = request.path.rpartition(".")[2]
    fmt = fmt if fmt in CONTENT_TYPES else _negotiated(request)
    return _render_error(fmt, Open311Error(
        404, f"no Open311 resource at {request.path[:200]}: see {reverse('open311:root')}"))


app_name = "open311"
FMT = r"\.(?P<fmt>[^./]+)$"
V2 = r"^v2/+"  # a client that joins "…/v2/" and "/services.xml" still lands
urlpatterns = [
    re_path(r"^discovery" + FMT, discovery, name="discovery"),
    path("v2/", root, name="root"),
    re_path(V2 + r"services" + FMT, service_list, name="services"),
    re_path(V2 + r"services/(?P<code>[^/]+?)" + FMT, service_definition, name="service"),
    re_path(V2 + r"requests" + FMT, request_list, name="requests"),
    re_path(V2 + r"requests/(?P<request_id>[^/]+?)" + FMT, request_detail, name="request"),
    re_path(V2 + r"tokens/(?P<token>[^/]+?)" + FMT, token_detail, name="token"),
    re_path(r"", not_found),  # everything else under /open311/ answers in the spec's format
]
