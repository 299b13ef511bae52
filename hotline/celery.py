"""The Celery app: one beat schedule for every periodic job."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")

app = Celery("hotline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "sweep-deadlines": {
        "task": "dispatch.tasks.sweep_deadlines",
        "schedule": crontab(minute="*"),
    },
    "send-pending-sms": {
        "task": "dispatch.tasks.send_pending_sms",
        "schedule": crontab(minute="*"),
    },
    "early-warning": {
        "task": "evaluation.tasks.run_early_warning",
        "schedule": crontab(minute=5),
    },
    "send-rating-links": {
        "task": "evaluation.tasks.send_rating_links",
        "schedule": crontab(minute="*"),
    },
    "refresh-timeliness": {
        "task": "evaluation.tasks.refresh_timeliness",
        "schedule": crontab(minute="*/10"),
    },
}
