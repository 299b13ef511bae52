"""Knowledge-base search (知识库). Articles are indexed by character bigrams; on PostgreSQL a
GIN full-text index over them answers queries of two characters or more without segmenting
Chinese, ranked by ts_rank; the embedded SQLite default scans its small table."""

from datetime import date

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from .models import KnowledgeArticle, text_bigrams

MAX_TERMS = 64


def _valid_on(day: date) -> Q:
    return (Q(is_published=True) & (Q(valid_from__isnull=True) | Q(valid_from__lte=day))
            & (Q(valid_to__isnull=True) | Q(valid_to__gte=day)))


def search(query: str, *, any_term: bool = False, limit: int = 5,
           on: date | None = None) -> list[KnowledgeArticle]:
    """Articles valid ``on`` a day (today) matching ``query``: every bigram of it (a search
    box), or with ``any_term`` the most bigrams in common (suggestions from a caller's text)."""
    terms = text_bigrams(query).split()[:MAX_TERMS]
    if not terms:
        return []
    on = on or timezone.localdate()
    valid = KnowledgeArticle.objects.filter(_valid_on(on))
    if connection.vendor == "postgresql":
        joiner = " | " if any_term else " & "
        tsquery = joiner.join(f"'{t}':*" if len(t) == 1 else f"'{t}'" for t in terms)
        return list(valid.extra(
            select={"rank": "ts_rank(to_tsvector('simple', bigrams), to_tsquery('simple', %s))"},
            select_params=[tsquery],
            where=["to_tsvector('simple', bigrams) @@ to_tsquery('simple', %s)"],
            params=[tsquery],
        ).order_by("-rank", "title")[:limit])
    if not any_term:
        for term in terms:
            valid = valid.filter(bigrams__contains=term)
        return list(valid[:limit])
    wanted = set(terms)
    scored = []
    for article in valid:
        common = len(wanted & set(article.bigrams.split()))
        if common:
            scored.append((-common, article.title, article))
    return [a for _c, _t, a in sorted(scored, key=lambda s: s[:2])[:limit]]
