from django.contrib.auth import views as auth_views
from django.urls import path

from . import console, public, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("orders/", views.order_list, name="order-list"),
    path("orders/<int:pk>/", views.order_detail, name="order-detail"),
    path("orders/<int:pk>/reveal-phone/", views.order_reveal_phone, name="order-reveal-phone"),
    path("orders/<int:pk>/notes/", views.order_note, name="order-note"),
    path("orders/<int:pk>/category/", views.order_category, name="order-category"),
    path("orders/<int:pk>/<slug:action>/", views.order_action, name="order-action"),
    path("console/", console.console, name="console"),
    path("console/queue/", console.queue, name="console-queue"),
    path("console/caller/", console.caller, name="console-caller"),
    path("console/places/", console.suggest_places, name="console-places"),
    path("console/suggest/categories/", console.suggest_categories,
         name="console-suggest-categories"),
    path("console/suggest/articles/", console.suggest_articles, name="console-suggest-articles"),
    path("console/suggest/duplicates/", console.suggest_duplicates,
         name="console-suggest-duplicates"),
    path("public/submit/", public.submit, name="public-submit"),
    path("public/track/", public.track, name="public-track"),
]
