"""The knowledge base (知识库) and the bigram index term of its full-text search."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .category import Category


def text_bigrams(text: str) -> str:
    """The text as space-separated character bigrams of its CJK/letter/digit runs: the index
    term of the knowledge base's full-text search, which needs no segmentation and finds
    2-character queries (供暖, 社保)."""
    import re

    grams = []
    for run in re.findall(r"[\w]+", (text or "").lower()):
        if len(run) == 1:
            grams.append(run)
        grams.extend(run[i:i + 2] for i in range(len(run) - 1))
    return " ".join(dict.fromkeys(grams))


class KnowledgeArticle(models.Model):
    """An answer in the knowledge base (知识库) agents give to consultations on the spot."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("answer"))
    categories = models.ManyToManyField(Category, verbose_name=_("categories"), blank=True,
                                        related_name="articles")
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    is_published = models.BooleanField(_("published"), default=True)
    source = models.CharField(_("source"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    bigrams = models.TextField(editable=False, blank=True)

    class Meta:
        verbose_name = _("knowledge article")
        verbose_name_plural = _("knowledge base")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        self.bigrams = text_bigrams(f"{self.title} {self.title} {self.body}")
        super().save(*args, **kwargs)
