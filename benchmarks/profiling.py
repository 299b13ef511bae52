"""Where a request's time goes: the request run a few times in this process under cProfile,
its own time grouped by component. The profiler slows everything down about alike, so the
shares are what to read, not the milliseconds."""

import cProfile
import pstats
import time

GROUPS = (
    ("DRF serializers and fields", ("rest_framework/serializers", "rest_framework/fields",
                                    "rest_framework/utils/field_mapping",
                                    "rest_framework/relations", "rest_framework/utils/")),
    ("DRF other", ("rest_framework/",)),
    ("django-filter", ("django_filters/",)),
    ("database: waiting and driver", ("psycopg/", "django/db/backends/", "{method 'execute'")),
    ("Django ORM (building queries, making objects)", ("django/db/",)),
    ("templates", ("django/template/", "templatetags/")),
    ("translation", ("django/utils/translation",)),
    ("application code", ("/tickets/", "/dispatch/", "/evaluation/", "/hotline/")),
    ("Django other", ("django/",)),
)


def _group(filename: str) -> str:
    for name, needles in GROUPS:
        if any(n in filename for n in needles):
            return name
    return "other (stdlib, builtins)"


def _shares(profiler, times: int) -> dict:
    stats = pstats.Stats(profiler).stats
    totals: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.items():
        key = _group(filename if filename != "~" else name)
        totals[key] = totals.get(key, 0.0) + tottime
    whole = sum(totals.values()) or 1.0
    top = sorted(((v, f"{k[2]} ({k[0].rsplit('site-packages/', 1)[-1]}:{k[1]})")
                  for k, (_a, _b, v, _c, _d) in stats.items()), reverse=True)[:8]
    return {
        "shares": {k: round(v / whole, 3) for k, v in sorted(totals.items(),
                                                             key=lambda kv: -kv[1])},
        "top_functions": [f"{v / times * 1000:.2f} ms {name}" for v, name in top],
    }


def profile_once(call) -> dict:
    """One profiled call of something long (a sweep, a rebuild): its shares and its time."""
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    call()
    profiler.disable()
    return {"seconds_profiled": round(time.perf_counter() - started, 3),
            **_shares(profiler, 1)}


def profile(call, *, times: int = 10) -> dict:
    """``call()`` ``times`` times (after one unprofiled warm-up): wall ms per call without the
    profiler, and the profiled own time per component as shares."""
    call()
    started = time.perf_counter()
    for _ in range(times):
        call()
    plain_ms = (time.perf_counter() - started) / times * 1000
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(times):
        call()
    profiler.disable()
    return {"ms_per_call_unprofiled": round(plain_ms, 1), **_shares(profiler, times)}
