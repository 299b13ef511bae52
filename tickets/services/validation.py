"""Checks every service runs on what it is given, before it touches the database."""

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from dispatch import reference
from dispatch.models import Unit
from hotline.errors import Invalid

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{7,8})$")


def normalise_phone(phone: str) -> str:
    phone = re.sub(r"[\s()]", "", phone or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if phone and not PHONE_RE.match(phone):
        raise Invalid("malformed phone number", details={"caller_phone": "malformed phone number"})
    return phone


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean_text(value: str, *, field: str, required: bool, max_length: int) -> str:
    # Control characters (NUL above all, which PostgreSQL refuses) never reach the database.
    value = _CONTROL.sub("", value or "").strip()
    if required and not value:
        raise Invalid(f"{field} is required", details={field: "required"})
    if len(value) > max_length:
        raise Invalid(
            f"{field} is too long ({len(value)} characters, at most {max_length})",
            details={field: f"at most {max_length} characters"},
        )
    return value


def _choice(value: str, choices, *, field: str) -> str:
    if value not in choices.values:
        raise Invalid(
            f"unknown {field} {value!r}; one of {', '.join(choices.values)}",
            details={field: "unknown value"},
        )
    return value


def _category_id(category_id) -> int | None:
    if category_id in (None, ""):
        return None
    cat = reference.get().categories.get(_int(category_id, field="category"))
    if cat is None or not cat.is_active:
        raise Invalid(f"unknown category {category_id!r}", details={"category": "unknown"})
    return cat.pk


def _unit(unit_id, *, field: str, kinds: Iterable[str] | None = None) -> Unit | None:
    if unit_id in (None, ""):
        return None
    unit = reference.get().units.get(_int(unit_id, field=field))
    if unit is None or not unit.is_active or (kinds is not None and unit.kind not in kinds):
        raise Invalid(f"unknown {field} {unit_id!r}", details={field: "unknown unit"})
    return unit


def _coordinate(value, *, field: str, limit: int):
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        raise Invalid(f"{field} must be a number, not {value!r}", details={field: "not a number"})
    if not number.is_finite() or abs(number) > limit:
        raise Invalid(f"{field} must lie between -{limit} and {limit}", details={field: "range"})
    return number


def _int(value, *, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid(f"{field} must be an id, not {value!r}", details={field: "not an id"})


HANDLING_KINDS = (Unit.Kind.STREET, Unit.Kind.DEPARTMENT, Unit.Kind.DISTRICT)
