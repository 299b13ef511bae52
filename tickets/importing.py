"""Import of historical orders from CSV (message-board exports and the like).

Columns: ``id, user, subject, created_at, detail`` and optionally ``category`` (a top-level
category name or a full path), ``likes``, ``dislikes``. Each row becomes an archived order whose
``external_id`` is the row's id; rows already imported are skipped, so re-importing a file adds
nothing twice. Bad rows are rejected with the reason and the rest go in."""

import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dispatch import reference

from .models import Channel, Order, OrderEvent, State
from .services import _next_number

REQUIRED = ("id", "subject", "created_at", "detail")
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M",
                "%Y-%m-%d", "%Y/%m/%d")


class ImportFileError(Exception):
    """The file as a whole cannot be read (missing, not CSV, wrong columns)."""


@dataclass
class ImportResult:
    read: int = 0
    imported: int = 0
    skipped_existing: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line, id, reason)

    def reasons(self) -> Counter:
        return Counter(reason for _line, _id, reason in self.rejected)


def _parse_time(value: str) -> datetime:
    value = value.strip()
    for fmt in DATE_FORMATS:
        try:
            naive = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return timezone.make_aware(naive)
    raise ValueError(f"unreadable date {value!r}")


def _count(value: str | None, name: str) -> int:
    if value is None or not value.strip():
        return 0
    number = int(float(value))
    if number < 0:
        raise ValueError(f"negative {name}")
    return number


def _categories() -> dict[str, int]:
    by_name = {}
    for cat in reference.get().categories.values():
        by_name[cat.path] = cat.pk
        if cat.level == 1:
            by_name[cat.name] = cat.pk
    return by_name


def import_file(path, *, batch: int = 1000, progress=None) -> ImportResult:
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ImportFileError(f"cannot open {path}: {exc.strerror}") from exc
    with handle:
        try:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ImportFileError(f"{path} is not a UTF-8 CSV file: {exc}") from exc
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise ImportFileError(
                f"{path} lacks the column(s) {', '.join(missing)}; found {', '.join(columns) or 'none'}")
        result = ImportResult()
        categories = _categories()
        max_text = settings.HOTLINE["MAX_TEXT_LENGTH"]
        pending: list[Order] = []
        seen: set[str] = set()
        try:
            for line, row in enumerate(reader, start=2):
                result.read += 1
                if progress:
                    progress(1)
                ext = (row.get("id") or "").strip()
                try:
                    if not ext:
                        raise ValueError("no id")
                    if len(ext) > 64:
                        raise ValueError("id longer than 64 characters")
                    if ext in seen:
                        raise ValueError("id repeated in the file")
                    detail = (row.get("detail") or "").strip()
                    subject = (row.get("subject") or "").strip()
                    if not detail and not subject:
                        raise ValueError("no subject and no detail")
                    if len(detail) > max_text:
                        raise ValueError(f"detail longer than {max_text} characters")
                    created = _parse_time(row.get("created_at") or "")
                    label = (row.get("category") or "").strip()
                    category_id = None
                    if label:
                        category_id = categories.get(label)
                        if category_id is None:
                            raise ValueError(f"unknown category {label!r}")
                    likes = _count(row.get("likes"), "likes")
                    dislikes = _count(row.get("dislikes"), "dislikes")
                except ValueError as exc:
                    result.rejected.append((line, ext, str(exc)))
                    continue
                seen.add(ext)
                pending.append(Order(
                    external_id=ext, channel=Channel.IMPORT, caller_ref=(row.get("user") or "")[:64],
                    is_anonymous=True, wants_callback=False, subject=subject[:200],
                    text=detail or subject, category_id=category_id, created_at=created,
                    archived_at=created, likes=likes, dislikes=dislikes, state=State.ARCHIVED))
                if len(pending) >= batch:
                    _flush(pending, result)
                    pending = []
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ImportFileError(f"{path}: unreadable after line {result.read + 1}: {exc}") from exc
        _flush(pending, result)
    return result


def _flush(orders: list[Order], result: ImportResult) -> None:
    if not orders:
        return
    existing = set(Order.objects.filter(external_id__in=[o.external_id for o in orders])
                   .values_list("external_id", flat=True))
    fresh = [o for o in orders if o.external_id not in existing]
    result.skipped_existing += len(orders) - len(fresh)
    with transaction.atomic():
        for order in fresh:
            order.number = _next_number(order.created_at)
        Order.objects.bulk_create(fresh, ignore_conflicts=False)
        created = {o.external_id: o.pk for o in Order.objects.filter(
            external_id__in=[o.external_id for o in fresh]).only("pk", "external_id")}
        OrderEvent.objects.bulk_create(
            OrderEvent(order_id=created[o.external_id], kind=OrderEvent.Kind.CREATED,
                       action="import", to_state=State.ARCHIVED, created_at=o.created_at,
                       data={"source": "import"})
            for o in fresh)
    result.imported += len(fresh)
