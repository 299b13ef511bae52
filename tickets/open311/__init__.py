"""Open311 GeoReport v2 (DESIGN §7, https://wiki.open311.org/GeoReport_v2): any 311 client lists
the services (the leaf categories, 三级分类), files a request (an order on the ``open311``
channel, taken in the name of its API client) and follows it, in XML or JSON.

Mounted at /open311/: discovery at /open311/discovery.{xml,json}, the API under /open311/v2/.
Everything is public but filing, which needs an ``api_key`` (``tickets.ApiClient``). Public means
public: confidential (保密) and imported orders are never shown, nor callers' names or phones.
"""

from . import reading  # noqa: F401
from .base import STATUS  # noqa: F401
