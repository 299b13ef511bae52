"""Pages of the callback, scoring and early-warning stage. Names are namespaced:
``{% url 'evaluation:scores-mine' %}``."""

from django.urls import path

from . import views

app_name = "evaluation"

urlpatterns = [
    path("evaluation/", views.start, name="start"),
    # 回访: the agents' queue, and the reviewers' unsolved / unsatisfied results (重办)
    path("callbacks/", views.callback_queue, name="callback-queue"),
    path("callbacks/<int:order_id>/record/", views.callback_record, name="callback-record"),
    path("callbacks/<int:order_id>/unreachable/", views.callback_unreachable,
         name="callback-unreachable"),
    path("callbacks/results/", views.callback_results, name="callback-results"),
    path("callbacks/results/<int:callback_id>/reopen/", views.callback_reopen,
         name="callback-results-reopen"),
    # the resident's rating link (no login)
    path("rate/<str:token>/", views.rate, name="rate"),
    # scores (三率)
    path("scores/mine/", views.scores_mine, name="scores-mine"),
    path("scores/exclusions/", views.exclusions, name="exclusions"),
    path("scores/exclusions/<int:pk>/decide/", views.exclusion_decide,
         name="exclusions-decide"),
    path("analysis/", views.analysis, name="analysis"),
    path("analysis/ranking.<str:fmt>", views.ranking_export, name="analysis-export"),
    path("analysis/units/<int:unit_id>/", views.unit_detail, name="analysis-unit"),
    path("analysis/units/<int:unit_id>/orders.<str:fmt>", views.unit_orders_export,
         name="analysis-unit-export"),
    # early warning (预警), hot issues, repeats, monthly topics (每月一题)
    path("warnings/", views.warning_board, name="warnings"),
    path("warnings/<int:pk>/order/", views.warning_order, name="warnings-order"),
    path("warnings/<int:pk>/dismiss/", views.warning_dismiss, name="warnings-dismiss"),
    path("hot-issues/", views.hot_issues, name="hot-issues"),
    path("repeats/", views.repeats, name="repeats"),
    path("topics/", views.topics, name="topics"),
    path("topics/<int:pk>/", views.topic_detail, name="topics-detail"),
    path("topics/<int:pk>/items/<int:item_id>/done/", views.topic_item_done,
         name="topics-item-done"),
]
