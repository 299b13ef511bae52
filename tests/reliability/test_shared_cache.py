"""Rate limits and the console's submit tokens live in the cache, so every web worker must see
the same one: with CACHE_URL=redis://… two separate processes share their counters."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def _redis_url() -> str:
    """The cache the suite runs with (make test sets CACHE_URL), else a Redis DB beside the
    broker's (the suite needs a live Redis broker anyway)."""
    url = os.environ.get("CACHE_URL", "")
    if url.startswith("redis://"):
        return url
    host = settings.CELERY_BROKER_URL.split("://", 1)[1].split("/", 1)[0] or "127.0.0.1:6379"
    return f"redis://{host}/7"


def _in_another_process(cache_url: str, code: str) -> str:
    env = dict(os.environ, CACHE_URL=cache_url, DJANGO_SETTINGS_MODULE="hotline.settings")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_two_processes_count_against_the_same_rate_limit_key():
    url, key = _redis_url(), f"shared-cache-test:{uuid.uuid4().hex}"
    increment = (f"from django.core.cache import cache, caches; cache.add({key!r}, 0, 60); "
                 f"print(cache.incr({key!r}), type(caches['default']).__name__)")
    assert _in_another_process(url, increment) == "1 RedisCache"
    assert _in_another_process(url, increment) == "2 RedisCache"
    assert _in_another_process(url, f"from django.core.cache import cache; "
                                    f"cache.delete({key!r}); print('ok')") == "ok"


def test_a_cache_url_of_another_kind_is_refused_with_the_reason():
    env = dict(os.environ, CACHE_URL="memcached://127.0.0.1:11211",
               DJANGO_SETTINGS_MODULE="hotline.settings")
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "CACHE_URL='memcached://127.0.0.1:11211': use redis://host:port/db" in result.stderr
