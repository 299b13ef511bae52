"""Pages of this app: the unit workspace, the centre's queues, and the handling steps posted
from the order page. Step URLs sit under ``orders/<pk>/handling/`` so that they never meet the
lifecycle actions' ``orders/<pk>/<action>/``."""

from django.urls import path

from . import views

urlpatterns = [
    path("workspace/", views.workspace, name="workspace"),
    path("workspace/notifications/read/", views.notifications_read, name="notifications-read"),
    path("centre/", views.centre, name="centre"),
    path("orders/<int:pk>/handling/<slug:step>/", views.order_step, name="order-step"),
    path("tasks/<int:pk>/<slug:step>/", views.task_step, name="task-step"),
    path("extensions/<int:pk>/decide/", views.extension_decide, name="extension-decide"),
]
