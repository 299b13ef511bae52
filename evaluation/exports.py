"""Excel (.xlsx) and CSV downloads of rankings and of a unit's orders.

Exports leave the platform, so they carry no phone numbers: no caller's number column, and
numbers a citizen typed into a subject are masked. Text cells that a spreadsheet would take
for a formula (=, +, -, @) are quoted, so a citizen's words never run as one (CSV injection).
"""

import csv
import io
import re
from datetime import datetime

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Mobile numbers, landlines with an area code, and any other run of 7+ digits (a local
# number typed without its area code, with or without separators).
PHONE_RE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(?:1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}"
                      r"|0\d{2,3}[\s-]?\d{7,8}|\d{7,})(?!\d)")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def scrub(text: str) -> str:
    """Mask phone numbers inside free text (not in order numbers: only free-text columns)."""
    return PHONE_RE.sub("***", text or "")


def _cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def _filename_header(filename: str) -> str:
    # RFC 6266: an ASCII fallback and the UTF-8 name for the Chinese one.
    from urllib.parse import quote

    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def xlsx_response(filename: str, sheet: str, headers: list[str], rows, *,
                  percent_columns: tuple[int, ...] = ()) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)  # streams rows: a big unit's month stays small in memory
    ws = book.create_sheet(title=re.sub(r"[\\/*?:\[\]]", " ", sheet)[:31])
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for title in headers:
        cell = WriteOnlyCell(ws, value=title)
        cell.font = bold
        head.append(cell)
    ws.append(head)
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            value = _cell(value)
            if i in percent_columns and isinstance(value, float):
                value = WriteOnlyCell(ws, value=value)
                value.number_format = "0.00%"
            elif isinstance(value, datetime):
                value = WriteOnlyCell(ws, value=value)
                value.number_format = "yyyy-mm-dd hh:mm"
            cells.append(value)
        ws.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = _filename_header(filename)
    return response


def csv_response(filename: str, headers: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _filename_header(filename)
    response.write("\ufeff")  # so Excel reads the Chinese as UTF-8
    writer = csv.writer(response)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return response


def respond(fmt: str, filename: str, sheet: str, headers, rows, **kwargs) -> HttpResponse:
    if fmt == "xlsx":
        return xlsx_response(f"{filename}.xlsx", sheet, headers, rows, **kwargs)
    return csv_response(f"{filename}.csv", headers, rows)


# -- what is exported ---------------------------------------------------------------------------

def _rate(value):
    return round(value, 6) if value is not None else None


def ranking_table(entries) -> tuple[list[str], list[list], tuple[int, ...]]:
    """Headers and rows of a ranking (the dashboard's ``RankEntry`` list)."""
    headers = [_("Rank"), _("Unit"), _("District"), _("Valid callbacks"), _("Contacted"),
               _("Solved"), _("Satisfied"), _("Basically satisfied"), _("Unsatisfied"),
               _("Response rate"), _("Resolution rate"), _("Satisfaction rate"),
               _("Composite score"), _("Change on last month"), _("Rank last month"),
               _("24-hour sign-for rate"), _("On-time completion rate"), _("Bottom ten")]
    rows = []
    for e in entries:
        r = e.rates
        rows.append([e.rank, r.unit_name, e.district, r.valid, r.contacted, r.solved,
                     r.satisfied, r.basic, r.unsatisfied, _rate(r.response_rate),
                     _rate(r.resolution_rate), _rate(r.satisfaction_rate), r.composite,
                     round(e.change, 4) if e.change is not None else None, e.previous_rank,
                     _rate(e.timeliness.sign_rate), _rate(e.timeliness.on_time_rate),
                     _("yes") if e.is_bottom else ""])
    return headers, rows, (9, 10, 11, 15, 16)


def unit_orders_table(orders) -> tuple[list[str], list[list], tuple[int, ...]]:
    headers = [_("Number"), _("Received"), _("Subject"), _("Category"), _("Street"), _("State"),
               _("Signed for"), _("Complete by"), _("Completed"), _("Contacted"), _("Solved"),
               _("Satisfaction"), _("Excluded from scoring")]
    yes, no = _("yes"), _("no")
    from .models import Satisfaction

    labels = dict(Satisfaction.choices)
    rows = []
    for o in orders:
        rows.append([
            o.number, o.created_at, scrub(o.subject or o.text[:60]),
            o.category.path if o.category_id else "", o.street.name if o.street_id else "",
            str(o.get_state_display()), o.signed_at, o.complete_due_at, o.completed_at,
            "" if o.cb_contacted is None else (yes if o.cb_contacted else no),
            "" if o.cb_solved is None else (yes if o.cb_solved else no),
            str(labels.get(o.cb_satisfaction, "")) if o.cb_satisfaction else "",
            yes if o.is_excluded else "",
        ])
    return headers, rows, ()
