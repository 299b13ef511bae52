"""How long one page or API call takes in this process, against the benchmark database:
``python -m benchmarks.request_timing PATH --user NAME [--token] [--times N]``. The request is
made with Django's test client as the user (a signed-in session, or ``--token`` for the API),
once to warm up and then ``--times`` times; prints the mean milliseconds, and how many of them
were this process's CPU time (the request's Python, not the database's) (docs/benchmarks.md).
``--explain TEXT`` then prints EXPLAIN (ANALYZE, BUFFERS) of each statement of one more request
whose SQL contains TEXT (e.g. ``COUNT`` for the workspace's counters).
Run it from another checkout (a git worktree) to compare two commits on the same database."""

import argparse
import sys

from . import env
from .stats import per_call_ms


def add_request_arguments(parser: argparse.ArgumentParser, *, times_help: str,
                          path_required: bool = True) -> None:
    """The request to make: PATH, ``--user``, ``--token`` and ``--times`` (also
    ``benchmarks.instructions``, which runs this module)."""
    parser.add_argument("path", help="e.g. /workspace/ or '/api/orders/?unit=121'",
                        **({} if path_required else {"nargs": "?"}))
    parser.add_argument("--user", required=True, help="username of a user in the bench database")
    parser.add_argument("--token", action="store_true", help="authenticate with an API token")
    parser.add_argument("--times", type=int, default=30, help=times_help)


def hold_reloads() -> None:
    """Keep what this process loads once a minute (reference data, the calendar's overrides,
    the classifier, a token's identity in the shared cache) for the whole run: under callgrind
    (``benchmarks.instructions``) a run lasts minutes, and the reloads would be counted as the
    requests' work, the more of them the slower the code measured. A process of the platform
    reloads them once a minute whatever its load."""
    from dispatch import access, calendar, reference
    from tickets import classification

    reference.TTL = calendar._OVERRIDES_TTL = classification.RELOAD_SECONDS = float("inf")
    access.TOKEN_CACHE_SECONDS = 24 * 3600


def start() -> None:
    """Django on the benchmark database, the once-a-minute reloads held (``hold_reloads``)."""
    env.setup_django()
    hold_reloads()


def client_for(username: str, *, token: bool):
    """(the user, a test client signed in as them: an API token, or a session); None, with a
    message, when the bench database has no such user."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from .people import _session_for

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        print(f"no user {username!r} in {env.DB_NAME}", file=sys.stderr)
        return None
    if token:
        return user, Client(
            HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0]}")
    client = Client()
    client.cookies["sessionid"] = _session_for(user)
    return user, client


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_request_arguments(parser, times_help="requests timed after the first (default 30)")
    parser.add_argument("--explain", metavar="TEXT",
                        help="EXPLAIN ANALYZE the request's statements that contain TEXT")
    args = parser.parse_args(argv)
    start()
    found = client_for(args.user, token=args.token)
    if found is None:
        return 2
    _user, client = found

    def get() -> int:
        return client.get(args.path, HTTP_X_FORWARDED_PROTO="https").status_code

    status = get()
    if status != 200:
        print(f"{args.path} answered {status}", file=sys.stderr)
        return 1
    wall, cpu = per_call_ms(get, args.times)
    print(f"{args.path} as {args.user}: {wall:.1f} ms a request (mean of {args.times}), "
          f"{cpu:.2f} ms of them this process's CPU")
    if args.explain:
        _explain(get, args.explain)
    return 0


def _explain(get, text: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        get()
    for query in queries.captured_queries:
        if text in query["sql"]:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                print("\n".join(row[0] for row in cursor.fetchall()), end="\n\n")


if __name__ == "__main__":
    sys.exit(main())
