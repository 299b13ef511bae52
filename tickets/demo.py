"""Demo data: users for every role and orders with text written for this project (not taken
from any real citizen's message), spread over streets, categories, urgencies and states."""

import random
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from dispatch import reference
from dispatch.models import Community, Role, StaffProfile, Unit
from dispatch.reference_data import CENTRE_CODE

DEMO_PASSWORD = "hotline-demo"

# (username, role, unit code or name, display name)
DEMO_USERS = [
    ("agent", Role.AGENT, CENTRE_CODE, "话务员 王敏"),
    ("dispatcher", Role.DISPATCHER, CENTRE_CODE, "派单审核 李强"),
    ("analyst", Role.ANALYST, CENTRE_CODE, "分析员 赵静"),
    ("admin", Role.ADMIN, CENTRE_CODE, "系统管理员"),
    ("street", Role.STREET_STAFF, "望京街道", "望京街道 接诉即办专员 刘洋"),
    ("leader", Role.STREET_LEADER, "望京街道", "望京街道 主任 陈晨"),
    ("street2", Role.STREET_STAFF, "三里屯街道", "三里屯街道 专员 孙磊"),
    ("dept", Role.DEPARTMENT_STAFF, "D-TRANSPORT", "市交通委 专员 周婷"),
]

DEMO_COMMUNITIES = {
    "望京街道": ["花家地社区", "南湖东园社区", "望京西园三区社区", "宝星社区", "大西洋新城社区"],
    "三里屯街道": ["幸福二村社区", "中纺里社区", "北三里屯社区"],
    "建外街道": ["建国里社区", "永安里社区", "光华里社区"],
    "中关村街道": ["科源社区", "黄庄社区", "知春里社区"],
    "回龙观街道": ["龙跃苑社区", "流星花园社区", "矩阵小区社区"],
}

PLACES = ["小区", "楼下", "路口", "公交站旁", "菜市场附近", "学校门口", "地铁口", "商业街"]

# category path → problem descriptions; {place} is filled in.
PROBLEMS = {
    "城乡建设/城市建设和市政管理/环境卫生": [
        "{place}垃圾桶满了好几天没人清运，味道很大，招来很多苍蝇。",
        "{place}有人随意倾倒建筑垃圾，堆在绿地边上，希望尽快清理。",
    ],
    "城乡建设/城市建设和市政管理/城管执法": [
        "{place}晚上有流动摊贩占道经营，油烟和噪音很大，行人通行困难。",
        "{place}底商私自搭建彩钢房，占用公共通道，请城管核查。",
    ],
    "城乡建设/城市建设和市政管理/小区管理": [
        "{place}物业不作为，楼道灯坏了一个月也不修，老人晚上下楼很危险。",
        "{place}电梯经常停运，物业说没有维修资金，居民上下楼非常困难。",
    ],
    "城乡建设/城市建设和市政管理/冬季采暖": [
        "{place}家里暖气不热，室温只有十四度，已经给热力公司打过电话没人来。",
        "{place}供暖后暖气管道漏水，楼下邻居家天花板被泡，需要紧急维修。",
    ],
    "城乡建设/城市建设和市政管理/燃气供应": [
        "{place}楼道里有燃气味，担心泄漏，请燃气公司尽快来检查。",
        "{place}燃气表显示异常，充值后仍然无法点火做饭。",
    ],
    "城乡建设/城市建设和市政管理/自来水供应": [
        "{place}从早上开始停水，没有任何通知，家里老人孩子生活不便。",
        "{place}自来水发黄有异味，不敢饮用，希望检测水质。",
    ],
    "城乡建设/城市建设和市政管理/电力供应": [
        "{place}整栋楼停电好几个小时了，冰箱里的东西都快坏了。",
        "{place}电线杆倾斜，电线垂得很低，下雨天担心漏电伤人。",
    ],
    "城乡建设/城市建设和市政管理/公共汽车": [
        "{place}公交车经常晚点，早高峰等四十分钟都等不到车。",
        "{place}公交站牌信息过时，线路调整后没有更新。",
    ],
    "环境保护/环境污染/噪音污染": [
        "{place}工地夜间施工到凌晨两点，噪音太大，根本没法睡觉。",
        "{place}酒吧音乐声音太大，每天闹到后半夜，严重扰民。",
    ],
    "环境保护/环境污染/大气污染": [
        "{place}饭店油烟直排，整栋楼都是油烟味，不敢开窗。",
        "{place}有人露天焚烧垃圾，浓烟很大，呛得人咳嗽。",
    ],
    "交通运输/出租车管理": [
        "在{place}打车，司机拒载还绕路多收费，希望处理。",
    ],
    "政法/交通管理": [
        "{place}车辆乱停乱放，把消防通道都堵住了，救护车进不来。",
        "{place}红绿灯坏了，车辆和行人抢行，非常危险。",
    ],
    "劳动和社会保障/劳动关系": [
        "我在{place}附近一家餐馆打工，老板拖欠两个月工资不给。",
        "公司没有签劳动合同就让我们加班，离职时不给结算工资。",
    ],
    "劳动和社会保障/城镇职工社会保险": [
        "单位一直没有给我缴纳社保，想咨询怎么补缴。",
    ],
    "商贸旅游/市场监管": [
        "在{place}超市买到过期食品，商家拒绝退换。",
        "{place}健身房收了预付费后突然关门，老板联系不上。",
    ],
    "卫生计生/医政监管": [
        "{place}诊所没有资质却在给人输液，担心出问题。",
    ],
    "教育文体/教育行政管理": [
        "孩子在{place}附近的小学，放学时间太早，家长接送困难，希望开展课后服务。",
    ],
    "民政/社会救助": [
        "家里老人独居，身体不好，想咨询申请低保和养老服务的条件。",
    ],
    "城乡建设/住房保障与房地产": [
        "购买的{place}新房延期交付一年多，开发商一直不给说法。",
        "公租房申请提交半年了没有消息，想了解审核进度。",
    ],
}

SOLVED_RESULTS = [
    "已与市民电话联系，现场核实情况属实，已协调相关单位处理完毕，市民表示认可。",
    "已安排工作人员到现场处置，问题已解决，后续将加强巡查。",
]
UNSOLVED_RESULTS = [
    "已联系市民并现场查看，因涉及历史遗留问题暂无法解决，已做好解释工作。",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"


@contextmanager
def simulated_clock(start: datetime):
    """Run services as if at ``start`` (advanced with ``tick``), so demo history spreads over
    past weeks instead of all happening now."""
    state = {"now": start}

    def tick(minutes: float):
        state["now"] += timedelta(minutes=minutes)

    with mock.patch("django.utils.timezone.now", lambda: state["now"]):
        yield tick


def ensure_groups() -> dict[str, Group]:
    return {role: Group.objects.get_or_create(name=role)[0] for role in Role.values}


def ensure_users() -> list[tuple[str, str, str]]:
    User = get_user_model()
    groups = ensure_groups()
    created = []
    for username, role, unit_key, display in DEMO_USERS:
        unit = Unit.objects.filter(code=unit_key).first() or Unit.objects.get(name=unit_key)
        user, _ = User.objects.get_or_create(username=username, defaults={"first_name": display})
        user.set_password(DEMO_PASSWORD)
        user.is_staff = role == Role.ADMIN
        user.is_superuser = role == Role.ADMIN
        user.save()
        user.groups.add(groups[role])
        StaffProfile.objects.update_or_create(user=user, defaults={"unit": unit})
        created.append((username, role, unit.name))
    return created


def ensure_communities() -> None:
    for street_name, names in DEMO_COMMUNITIES.items():
        street = Unit.objects.get(name=street_name, kind=Unit.Kind.STREET)
        for name in names:
            Community.objects.get_or_create(street=street, name=name)


class Staffing:
    """A staff user per unit, made on first need, to act for that unit in the demo."""

    def __init__(self):
        self.User = get_user_model()
        self.groups = ensure_groups()
        self.by_unit = {p.unit_id: p.user for p in StaffProfile.objects.select_related("user")
                        .filter(user__groups__name__in=[Role.STREET_STAFF, Role.DEPARTMENT_STAFF])}

    def for_unit(self, unit: Unit):
        user = self.by_unit.get(unit.pk)
        if user is None:
            role = Role.DEPARTMENT_STAFF if unit.kind == Unit.Kind.DEPARTMENT else Role.STREET_STAFF
            user, _ = self.User.objects.get_or_create(
                username=f"staff-{unit.code}", defaults={"first_name": f"{unit.name} 专员"})
            user.set_unusable_password()
            user.save()
            user.groups.add(self.groups[role])
            StaffProfile.objects.update_or_create(user=user, defaults={"unit": unit})
            self.by_unit[unit.pk] = user
        return user


def make_orders(count: int, *, days: int = 60, seed: int = 12345, progress=None) -> int:
    """Create ``count`` orders through the services and walk each a random way along its
    lifecycle, with a simulated clock over the last ``days`` days."""
    from tickets import services
    from tickets.models import Channel, RequestType

    rng = random.Random(seed)
    ensure_communities()
    reference.clear()
    snap = reference.get()
    User = get_user_model()
    agent = User.objects.get(username="agent")
    dispatcher = User.objects.get(username="dispatcher")
    staffing = Staffing()
    streets = [u for u in snap.units.values() if u.kind == Unit.Kind.STREET]
    busy = [u for u in streets if u.name in DEMO_COMMUNITIES] + rng.sample(streets, 25)
    by_path = {c.path: c for c in snap.categories.values()}
    problems = [(by_path[p], texts) for p, texts in PROBLEMS.items() if p in by_path]
    start = timezone.now() - timedelta(days=days)
    step = timedelta(days=days).total_seconds() / 60 / max(count, 1)
    created = 0
    for i in range(count):
        street = rng.choice(busy) if rng.random() < 0.8 else rng.choice(streets)
        communities = [c for c in street.communities.all()] if street.name in DEMO_COMMUNITIES else []
        place = rng.choice(communities).name if communities else street.name.removesuffix("街道")
        category, texts = rng.choice(problems)
        text = rng.choice(texts).format(place=place + rng.choice(PLACES))
        urgency = rng.choices(["ordinary", "utilities", "urgent", "complex"], [70, 15, 5, 10])[0]
        if category.path.split("/")[-1] in ("冬季采暖", "燃气供应", "自来水供应", "电力供应"):
            urgency = "utilities" if urgency == "ordinary" else urgency
        phone = "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))
        at = start + timedelta(minutes=i * step)
        recent = i >= count * 0.93  # the last days' orders are still being handled
        roll = rng.random()
        with simulated_clock(at) as tick, transaction.atomic():
            if roll < 0.05:
                _consultation(rng, services, agent, tick)
            else:
                _complaint(rng, services, agent, dispatcher, staffing, snap, street, category,
                           text, phone, urgency, recent, roll, tick)
        created += 1
        if progress is not None:
            progress(1)
    if count >= 20:
        created += _showcase(rng, services, agent, snap, by_path, staffing)
    return created


def _showcase(rng, services, agent, snap, by_path, staffing) -> int:
    """Fresh orders for the demo logins' own units, in the first states of handling, so that
    `street`, `leader`, `street2` and `dept` find work waiting when they log in."""
    from tickets.models import Channel

    made = 0
    plan = [("望京街道", "城乡建设/城市建设和市政管理/小区管理", 6),
            ("三里屯街道", "环境保护/环境污染/噪音污染", 3),
            ("望京街道", "城乡建设/城市建设和市政管理/公共汽车", 3)]  # the last go to 市交通委
    for street_name, path, n in plan:
        street = next(u for u in snap.units.values() if u.name == street_name)
        category = by_path[path]
        texts = PROBLEMS[path]
        for i in range(n):
            place = rng.choice(DEMO_COMMUNITIES.get(street_name, [street_name]))
            order = services.order_create(
                actor=agent, channel=Channel.PHONE, text=rng.choice(texts).format(place=place),
                caller_name=rng.choice(SURNAMES) + "女士",
                caller_phone="139" + "".join(rng.choice("0123456789") for _ in range(8)),
                category_id=category.pk, address=f"{street.parent.name}{street.name}{place}",
                street_id=street.pk, urgency="urgent" if i == 0 else "ordinary")
            if i % 3 == 1:
                services.order_sign(order_id=order.pk, actor=staffing.for_unit(order.lead_unit))
            made += 1
    return made


def _complaint(rng, services, agent, dispatcher, staffing, snap, street, category, text, phone,
               urgency, recent, roll, tick):
    from tickets.models import Channel, RequestType

    order = services.order_create(
        actor=agent, channel=rng.choice([Channel.PHONE] * 8 + [Channel.WEB, Channel.APP]),
        text=text, subject=text[:20], caller_name=rng.choice(SURNAMES) + rng.choice(["先生", "女士"]),
        caller_phone=phone,
        request_type=rng.choice([RequestType.COMPLAINT] * 3 + [RequestType.HELP] * 3
                                + [RequestType.REPORT, RequestType.SUGGESTION]),
        category_id=category.pk, urgency=urgency,
        address=f"{street.parent.name}{street.name}", street_id=street.pk,
        dispatch=not (recent and roll < 0.15),
    )
    if order.state != "received":  # received ones wait in the dispatcher's queue
        _walk(order, rng, tick, services, agent, dispatcher, staffing, snap,
              max_depth=rng.randrange(0, 5) if recent else 7)


CONSULTATIONS = [
    ("居住证办理需要准备哪些材料？在哪里办理？", "可携带身份证、居住登记证明等材料到居住地派出所或社区服务站办理，具体以办事指南为准。"),
    ("今年冬季供暖什么时候开始？", "本市集中供暖一般于11月15日开始，遇寒潮可提前，具体以市政府通知为准。"),
    ("垃圾分类有哪几类，厨余垃圾怎么投放？", "本市生活垃圾分为厨余垃圾、可回收物、有害垃圾和其他垃圾四类，厨余垃圾需去除包装后投放。"),
]


def _consultation(rng, services, agent, tick):
    """A consultation answered at intake (直接办结), or now and then a call not accepted."""
    from tickets.models import Channel, RequestType

    question, answer = rng.choice(CONSULTATIONS)
    order = services.order_create(
        actor=agent, channel=Channel.PHONE, text=question, request_type=RequestType.CONSULTATION,
        caller_phone="", caller_name="", address="", dispatch=False)
    tick(rng.uniform(1, 5))
    if rng.random() < 0.1:
        services.order_reject(order_id=order.pk, actor=agent, reason="测试来电，无具体诉求。")
    else:
        services.order_answer(order_id=order.pk, actor=agent, answer=answer)


def _walk(order, rng, tick, services, agent, dispatcher, staffing, snap, max_depth=7):
    """Advance an order a random number of steps along a realistic path."""
    from hotline.errors import ServiceError

    depth = min(max_depth, rng.choices(range(8), [3, 5, 6, 8, 6, 10, 20, 42])[0])
    if order.lead_unit is None:
        return
    unit_user = staffing.for_unit(order.lead_unit)
    try:
        if depth < 1:
            return
        tick(rng.uniform(5, 90))
        if rng.random() < 0.04 and order.lead_unit.kind == Unit.Kind.STREET:
            services.order_return(order_id=order.pk, actor=unit_user, reason="该诉求不属于本街道辖区，请改派。")
            tick(rng.uniform(10, 120))
            others = [u for u in snap.units.values() if u.kind == Unit.Kind.STREET and u.parent_id == order.lead_unit.parent_id and u.pk != order.lead_unit_id]
            if not others or rng.random() < 0.3:
                return
            order = services.order_redispatch(order_id=order.pk, actor=dispatcher, lead_unit_id=rng.choice(others).pk, comment="经核实属地，改派。")
            unit_user = staffing.for_unit(order.lead_unit)
            tick(rng.uniform(5, 60))
        services.order_sign(order_id=order.pk, actor=unit_user)
        if depth < 2:
            return
        tick(rng.uniform(10, 600))
        services.order_record_contact(order_id=order.pk, actor=unit_user, summary="已电话联系市民，了解具体情况，约定上门查看时间。")
        if depth < 3:
            return
        if rng.random() < 0.08:
            tick(rng.uniform(60, 600))
            services.order_suspend(order_id=order.pk, actor=unit_user, reason="市民外出，约定返京后再上门处理。")
            if depth < 4:
                return
            tick(rng.uniform(600, 3000))
            services.order_resume(order_id=order.pk, actor=unit_user)
        tick(rng.uniform(600, 6000))
        solved = rng.random() < 0.85
        services.order_complete(order_id=order.pk, actor=unit_user, solved=solved,
                                result=rng.choice(SOLVED_RESULTS if solved else UNSOLVED_RESULTS))
        if depth < 5:
            return
        tick(rng.uniform(30, 600))
        if rng.random() < 0.1:
            services.order_send_back(order_id=order.pk, actor=dispatcher, reason="办理结果描述不清，请补充现场处置情况。")
            tick(rng.uniform(60, 900))
            services.order_complete(order_id=order.pk, actor=unit_user, solved=solved,
                                    result=rng.choice(SOLVED_RESULTS if solved else UNSOLVED_RESULTS))
            tick(rng.uniform(30, 300))
        services.order_accept(order_id=order.pk, actor=dispatcher)
        if depth < 6:
            return
        tick(rng.uniform(60, 1440))
        services.order_archive(order_id=order.pk, actor=agent, comment="回访：市民表示满意。")
    except ServiceError:
        # A demo walk that hits a rule (e.g. a return after its deadline) just stops there.
        return
