"""Location → jurisdiction (属地) and category → owning unit (派单目录)."""

from dataclasses import dataclass

from dispatch import reference
from dispatch.models import Unit


@dataclass(frozen=True)
class Place:
    street: Unit | None
    community_id: int | None
    matched: str = ""


def _named_outside(name: str, address: str, district_spans: list[tuple[int, int]]) -> bool:
    """``name`` occurs in ``address`` other than inside a longer district name: 景山 (a street
    of 东城区) inside 石景山区, or 海淀 (海淀街道) inside 海淀区, name no street."""
    start = address.find(name)
    while start != -1:
        end = start + len(name)
        if not any(s <= start and end <= e and e - s > len(name) for s, e in district_spans):
            return True
        start = address.find(name, start + 1)
    return False


def resolve_place(address: str) -> Place:
    """The street (and community) an address names: the longest known place name in it wins;
    among equally long names, one in a district the address also names."""
    snap = reference.get()
    if not address:
        return Place(None, None)
    district_spans = []
    for district_name in snap.district_names:
        start = address.find(district_name)
        while start != -1:
            district_spans.append((start, start + len(district_name)))
            start = address.find(district_name, start + 1)
    candidates = []
    for name, street_id, community_id in snap.places:
        if candidates and len(name) < len(candidates[0][0]):
            break
        if len(name) >= 2 and name in address and _named_outside(name, address, district_spans):
            candidates.append((name, street_id, community_id))
    if not candidates:
        return Place(None, None)
    for name, street_id, community_id in candidates:
        district = snap.units[street_id].parent_id and snap.units[snap.units[street_id].parent_id]
        if district and (district.name in address or district.name.rstrip("区") in address):
            return Place(snap.units[street_id], community_id, name)
    name, street_id, community_id = candidates[0]
    return Place(snap.units[street_id], community_id, name)


@dataclass(frozen=True)
class Route:
    lead_unit: Unit | None
    reason: str


def route(*, category_id: int | None, street: Unit | None) -> Route:
    """The unit that owns an order: the most specific catalogue rule for the category (deepest
    category first, a district's own rule before the city-wide one); without a rule, the street
    of the location (街乡镇兜底). None when nobody can be named: the dispatcher decides."""
    snap = reference.get()
    district_id = street.parent_id if street is not None else None
    category = snap.categories.get(category_id) if category_id else None
    node = category
    while node is not None:
        rule = snap.rules.get((node.pk, district_id)) or snap.rules.get((node.pk, None))
        if rule is not None:
            if rule.owner_kind == Unit.Kind.DEPARTMENT:
                return Route(rule.department, f"catalogue: {node.path} → {rule.department.name}")
            if street is not None:
                return Route(street, f"catalogue: {node.path} → street of the location")
            return Route(None, f"catalogue: {node.path} → street, but no street was found")
        node = node.parent
    if street is not None:
        return Route(street, "street of the location (default)")
    return Route(None, "no street found for the address")


@dataclass(frozen=True)
class PlaceSuggestion:
    name: str
    street_id: int
    street: str
    district: str
    community_id: int | None


def suggest_places(query: str, *, limit: int = 10) -> list[PlaceSuggestion]:
    """Place names (streets, communities, aliases) containing ``query``, for address
    autocomplete: names that start with it first, then shorter names."""
    query = (query or "").strip()
    if not query:
        return []
    snap = reference.get()
    hits = [p for p in snap.places if query in p[0]]
    hits.sort(key=lambda p: (not p[0].startswith(query), len(p[0]), p[0]))
    out, seen = [], set()
    for name, street_id, community_id in hits:
        if (name, street_id) in seen:
            continue
        seen.add((name, street_id))
        street = snap.units[street_id]
        district = snap.units.get(street.parent_id)
        out.append(PlaceSuggestion(name, street_id, street.name,
                                   district.name if district else "", community_id))
        if len(out) >= limit:
            break
    return out
