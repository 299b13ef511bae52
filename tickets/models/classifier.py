"""The category classifier's trained models and the labels it learns from."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .category import Category
from .order import Order


class ClassifierModel(models.Model):
    """A trained category classifier (a scikit-learn pipeline), versioned. The newest active
    one is what the web processes and workers load."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    created_at = models.DateTimeField(_("trained at"), default=timezone.now)
    samples = models.PositiveIntegerField(_("training samples"))
    accuracy = models.FloatField(_("cross-validated accuracy"))
    macro_f1 = models.FloatField(_("cross-validated macro F1"))
    report = models.JSONField(_("per-class report"), default=dict)
    blob = models.BinaryField(_("model"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("classifier model")
        verbose_name_plural = _("classifier models")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version} ({self.accuracy:.1%})"


class TrainingLabel(models.Model):
    """A category confirmed or corrected by an agent: training data for the next model."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="training_labels")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    suggested = models.CharField(_("suggested top-level category"), max_length=100, blank=True)
    is_correction = models.BooleanField(_("corrected the suggestion"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("training label")
        verbose_name_plural = _("training labels")
