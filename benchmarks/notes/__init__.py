"""The details under the summary table: how each scenario was measured, the evidence (runs,
CPU per request, queries, plans, profiles) and, for each missed target, why and what would fix
it. Every figure comes from the report of the run at hand; the explanations describe the code
as it is, and each is printed only when its target is missed in that run.

One module per group of scenarios: ``frame`` (reading the figures, failures, reproducing),
``seeding`` (1), ``http_loads`` (2–4), ``jobs`` (5–7), ``processes`` (8, 9); ``common`` holds
the helpers. ``notes(report)`` is what benchmarks/report.py calls."""

from .frame import errors, reading, reproduce
from .http_loads import intake, transitions, worklists
from .jobs import early_warning, rankings, sweep
from .processes import classification, memory
from .seeding import seeding


def notes(report: dict) -> list[str]:
    out = reading(report)
    for part in (seeding, intake, worklists, transitions, sweep, rankings, early_warning,
                 classification, memory, errors, reproduce):
        out += part(report)
    return out


__all__ = ["notes"]
