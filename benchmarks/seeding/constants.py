"""Sizes, state codes and the fixed vocabulary of the seeded rows."""

import struct

CHUNK = 50_000
EVENT_ID_STRIDE = 10  # event ids of order i lie in [i*10, i*10+10): no global counter needed
PG_EPOCH = 946_684_800  # 2000-01-01 in Unix seconds: binary timestamps count from there
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)

# State codes used while generating.
(DISPATCHED, SIGNED, IN_PROGRESS, SUSPENDED, REOPENED, COMPLETED, CLOSED, ARCHIVED, ANSWERED,
 INVALID) = range(10)
STATE_NAMES = ["dispatched", "signed", "in_progress", "suspended", "reopened", "completed",
               "closed", "archived", "answered", "invalid"]
OPEN_CODES = (DISPATCHED, SIGNED, IN_PROGRESS, SUSPENDED, REOPENED)
DONE_CODES = (COMPLETED, CLOSED, ARCHIVED)

CHANNELS = ["phone", "web", "app", "api"]
URGENCIES = ["urgent", "utilities", "ordinary", "complex"]
COUNTING = ["natural", "natural", "working", "working"]
RTYPES = ["help", "complaint", "consultation", "report", "suggestion", "praise"]
SATISFACTION = ["satisfied", "basic", "unsatisfied"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
COMPOUNDS = ["花园小区", "家园", "北里", "南里", "西里", "东区", "佳苑", "公寓", "新村", "嘉园",
             "大街", "胡同", "路", "社区", "村"]
ADDRESSES_PER_STREET = 40
# Who acted: this many staff a street or department, and of the centre (agents, dispatchers and
# callback agents), made by the seed; each event but the sweep's notes names one, each order the
# agent who took it and each callback the agent who called (DESIGN §3).
STAFF_PER_UNIT = 3
CENTRE_STAFF = 120
RESULT = "已联系市民并现场核实，问题已处理完毕"
ANSWER = "可通过政务服务网办理"
TABLES = ("tickets_order", "tickets_orderevent", "evaluation_callback")
