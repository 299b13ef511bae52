from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from dispatch.api import (ExtensionViewSet, NotificationViewSet, OrderHandlingViewSet,
                          TaskViewSet, UnitViewSet)
from evaluation.api import HotIssueView, RankingView
from tickets.api import (ClassifyView, DuplicateSearchView, KnowledgeSearchView, OrderViewSet,
                         PlaceSearchView)

router = DefaultRouter()
# No ".json" twins of every route: their actions take no ``format`` argument, so each twin
# was a 500 (TypeError). The API negotiates by the Accept header (or ?format=json).
router.include_format_suffixes = False
router.register("orders", OrderViewSet, basename="order")
router.register("orders", OrderHandlingViewSet, basename="order-handling")
router.register("units", UnitViewSet, basename="unit")
router.register("tasks", TaskViewSet, basename="task")
router.register("extensions", ExtensionViewSet, basename="extension")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/token/", obtain_auth_token, name="api-token"),
    path("api/classify/", ClassifyView.as_view(), name="api-classify"),
    path("api/knowledge/", KnowledgeSearchView.as_view(), name="api-knowledge"),
    path("api/places/", PlaceSearchView.as_view(), name="api-places"),
    path("api/duplicates/", DuplicateSearchView.as_view(), name="api-duplicates"),
    path("api/hot-issues/", HotIssueView.as_view(), name="api-hot-issues"),
    path("api/rankings/", RankingView.as_view(), name="api-rankings"),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI injects its own <style> elements: its page alone may apply inline styles.
    path("api/docs/", csp_update({"style-src": [UNSAFE_INLINE]})(
        SpectacularSwaggerSplitView.as_view(url_name="schema")), name="api-docs"),
    # Browsers ask for /favicon.ico on pages that name none (the admin's).
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True),
         name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("open311/", include("tickets.open311.urls")),
    path("", include("tickets.urls")),
    path("", include("dispatch.urls")),
    path("", include("evaluation.urls")),
]

handler404 = "hotline.views.not_found"
handler500 = "hotline.views.server_error"
handler403 = "hotline.views.forbidden"
handler400 = "hotline.views.bad_request"
