"""The subject tree orders are filed under (分类)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.Model):
    """One node of the three-level subject tree (一级/二级/三级分类)."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    level = models.PositiveSmallIntegerField(_("level"), editable=False)
    path = models.CharField(_("full name"), max_length=320, unique=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_unique_in_parent"),
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(parent__isnull=True), name="category_unique_top"
            ),
        ]

    def __str__(self) -> str:
        return self.path

    def save(self, *args, **kwargs):
        self.level = (self.parent.level + 1) if self.parent_id else 1
        self.path = f"{self.parent.path}/{self.name}" if self.parent_id else self.name
        super().save(*args, **kwargs)

    def ancestors_and_self(self) -> list["Category"]:
        chain, node = [], self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    @property
    def top_name(self) -> str:
        return self.path.split("/", 1)[0]
