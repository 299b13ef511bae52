"""Reference data every request needs (categories, the dispatch catalogue, deadline policies,
units, place names), held in process memory so intake and routing cost no queries. Saving any
of these models clears the cache of this process; other processes reload within ``TTL``."""

import threading
import time
from dataclasses import dataclass, field

TTL = 60.0


@dataclass
class Snapshot:
    loaded_at: float
    categories: dict[int, "object"] = field(default_factory=dict)
    units: dict[int, "object"] = field(default_factory=dict)
    policies: dict[str, "object"] = field(default_factory=dict)
    # (category_id, district_id or None) -> DispatchRule
    rules: dict[tuple[int, int | None], "object"] = field(default_factory=dict)
    # (place name, street_id, community_id or None), longest names first
    places: list[tuple[str, int, int | None]] = field(default_factory=list)
    # districts' names with and without 区 (石景山区, 石景山)
    district_names: list[str] = field(default_factory=list)


_lock = threading.Lock()
_snapshot: Snapshot | None = None


def clear(*_args, **_kwargs) -> None:
    global _snapshot
    with _lock:
        _snapshot = None


def _short_name(name: str) -> str:
    for suffix in ("街道办事处", "街道", "地区办事处", "地区", "镇", "乡"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _load() -> Snapshot:
    from dispatch.models import AddressAlias, Community, DeadlinePolicy, DispatchRule, Unit
    from tickets.models import Category

    snap = Snapshot(loaded_at=time.monotonic())
    snap.units = {u.pk: u for u in Unit.objects.all()}
    snap.categories = {c.pk: c for c in Category.objects.all()}
    for cat in snap.categories.values():  # link parents in memory
        if cat.parent_id:
            cat.parent = snap.categories[cat.parent_id]
    snap.policies = {p.urgency: p for p in DeadlinePolicy.objects.all()}
    for rule in DispatchRule.objects.all():
        rule.department = snap.units.get(rule.department_id)
        snap.rules[(rule.category_id, rule.district_id)] = rule
    places: dict[tuple[str, int, int | None], None] = {}
    for unit in snap.units.values():
        if unit.kind == Unit.Kind.DISTRICT:
            snap.district_names += {unit.name, unit.name.rstrip("区")} - {""}
        if unit.kind == Unit.Kind.STREET and unit.is_active:
            places[(unit.name, unit.pk, None)] = None
            places[(_short_name(unit.name), unit.pk, None)] = None
    for community in Community.objects.all():
        places[(community.name, community.street_id, community.pk)] = None
    for alias in AddressAlias.objects.all():
        places[(alias.alias, alias.street_id, alias.community_id)] = None
    snap.places = sorted(places, key=lambda p: (-len(p[0]), p[0]))
    return snap


def get() -> Snapshot:
    global _snapshot
    snap = _snapshot
    if snap is None or time.monotonic() - snap.loaded_at > TTL:
        with _lock:
            snap = _snapshot
            if snap is None or time.monotonic() - snap.loaded_at > TTL:
                snap = _snapshot = _load()
    return snap
