"""The work order (工单), its lifecycle and its history.

A package by topic: ``order`` (the order, its states and transitions), ``category`` (the subject
tree), ``history`` (the append-only events, the deadlines the sweep announced, phone reveals, the
numbering counter), ``classifier``, ``knowledge`` and ``api_client``. Every model is imported
here so that Django finds them, and so that ``from tickets.models import ...`` keeps working."""

from .api_client import ApiClient
from .category import Category
from .classifier import ClassifierModel, TrainingLabel
from .history import DailyCounter, DeadlineNotice, EventQuerySet, OrderEvent, PhoneReveal
from .knowledge import KnowledgeArticle, text_bigrams
from .order import (
    DUE_SOON,
    FINAL_STATES,
    MERGEABLE_STATES,
    OPEN_STATES,
    RUNNING_STATES,
    TO_SIGN_STATES,
    Channel,
    Order,
    RequestType,
    State,
    due_soon_at,
    due_soon_q,
    mask_phone,
    overdue_at,
    overdue_q,
)

__all__ = [
    "DUE_SOON",
    "FINAL_STATES",
    "MERGEABLE_STATES",
    "OPEN_STATES",
    "RUNNING_STATES",
    "TO_SIGN_STATES",
    "ApiClient",
    "Category",
    "Channel",
    "ClassifierModel",
    "DailyCounter",
    "DeadlineNotice",
    "EventQuerySet",
    "KnowledgeArticle",
    "Order",
    "OrderEvent",
    "PhoneReveal",
    "RequestType",
    "State",
    "TrainingLabel",
    "due_soon_at",
    "due_soon_q",
    "mask_phone",
    "overdue_at",
    "overdue_q",
    "text_bigrams",
]
