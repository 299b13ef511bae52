"""Beijing's reference data, loaded by a data migration and by ``load_reference_data``.

Facts: the 16 districts and 349 streets/townships (统计用区划代码 2022, ``data/beijing_streets.csv``),
the three-level request taxonomy (``data/taxonomy.csv``), city functional departments, the
dispatch catalogue, the default deadline policies (DESIGN §4), and place aliases that callers
use for well-known compounds and landmarks. Loading is idempotent: rows are matched by their
natural keys and updated in place.
"""

import csv
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
CENTRE_CODE = "110000-12345"

DEPARTMENTS = [
    # code, name, duties
    ("D-HOUSING", "市住房和城乡建设委员会", "住房保障、房地产市场、建筑市场、工程质量、物业监管"),
    ("D-TRANSPORT", "市交通委员会", "道路运输、出租车、公交地铁、交通建设"),
    ("D-TRAFFIC", "市公安局公安交通管理局", "交通秩序、违法停车、信号灯"),
    ("D-POLICE", "市公安局（非紧急）", "户籍证件、社会治安非紧急警情、出入境"),
    ("D-MARKET", "市市场监督管理局", "消费维权、食品药品安全、价格、计量、特种设备"),
    ("D-ENV", "市生态环境局", "大气、水、噪声污染监管，建设项目环评"),
    ("D-WATER", "市水务局", "水资源、排水、河湖管理、防汛"),
    ("D-WATERCO", "北京市自来水集团", "自来水供应、停水、水压、水质"),
    ("D-POWER", "国网北京市电力公司", "供电、停电、电费、电力设施"),
    ("D-GAS", "北京市燃气集团", "燃气供应、燃气安全、燃气表"),
    ("D-HEATING", "北京市热力集团", "集中供热、室温不达标、热费"),
    ("D-URBAN", "市城市管理委员会", "市容环境卫生、垃圾分类、市政设施、能源运行"),
    ("D-EDU", "市教育委员会", "学前和中小学教育、招生考试、教育收费"),
    ("D-HEALTH", "市卫生健康委员会", "医疗机构、医患纠纷、公共卫生、人口计生"),
    ("D-HRSS", "市人力资源和社会保障局", "就业、劳动关系、工资、社会保险、退休待遇"),
    ("D-MEDINS", "市医疗保障局", "医保报销、医保定点、医保卡"),
    ("D-CIVIL", "市民政局", "社会救助、养老服务、社会组织、婚姻登记、殡葬"),
    ("D-PLAN", "市规划和自然资源委员会", "城乡规划、土地、不动产登记、测绘"),
    ("D-GREEN", "市园林绿化局", "公园、绿地、树木、林业"),
    ("D-CULTURE", "市文化和旅游局", "文化市场、旅游投诉、文物"),
    ("D-COMMERCE", "市商务局", "商业网点、预付卡、商贸流通"),
    ("D-AGRI", "市农业农村局", "农业、农村集体经济、动物防疫"),
    ("D-TAX", "国家税务总局北京市税务局", "税费、发票"),
    ("D-COMM", "北京市通信管理局", "电信服务、网络、骚扰电话"),
    ("D-EMERGENCY", "市应急管理局", "安全生产、危险化学品、应急救援"),
    ("D-SPORT", "市体育局", "体育场馆、全民健身"),
    ("D-DISCIPLINE", "市纪委市监委信访室", "干部作风、失职渎职、违纪违法线索"),
]

# Dispatch catalogue: taxonomy path → department code, or "street" (街乡镇兜底). The most
# specific path wins; categories not listed fall to the street of the location.
CATALOGUE = {
    "城乡建设": "street",
    "城乡建设/城市建设和市政管理/燃气供应": "D-GAS",
    "城乡建设/城市建设和市政管理/电力供应": "D-POWER",
    "城乡建设/城市建设和市政管理/自来水供应": "D-WATERCO",
    "城乡建设/城市建设和市政管理/冬季采暖": "D-HEATING",
    "城乡建设/城市建设和市政管理/地铁城铁": "D-TRANSPORT",
    "城乡建设/城市建设和市政管理/公共汽车": "D-TRANSPORT",
    "城乡建设/城市建设和市政管理/公园管理": "D-GREEN",
    "城乡建设/城乡规划": "D-PLAN",
    "城乡建设/建筑市场": "D-HOUSING",
    "城乡建设/工程质量": "D-HOUSING",
    "城乡建设/住房保障与房地产": "D-HOUSING",
    "城乡建设/安全生产": "D-EMERGENCY",
    "交通运输": "D-TRANSPORT",
    "政法": "street",
    "政法/交通管理": "D-TRAFFIC",
    "政法/户籍证件": "D-POLICE",
    "政法/刑案侦破": "D-POLICE",
    "政法/社会治安": "D-POLICE",
    "劳动和社会保障": "D-HRSS",
    "卫生计生": "D-HEALTH",
    "卫生计生/食品药品监管": "D-MARKET",
    "商贸旅游": "D-MARKET",
    "商贸旅游/旅游管理": "D-CULTURE",
    "商贸旅游/商业贸易": "D-COMMERCE",
    "教育文体": "D-EDU",
    "教育文体/文化": "D-CULTURE",
    "教育文体/文物管理": "D-CULTURE",
    "教育文体/体育": "D-SPORT",
    "环境保护": "street",
    "环境保护/环保管理": "D-ENV",
    "环境保护/建设项目审批": "D-ENV",
    "民政": "D-CIVIL",
    "民政/基层选举和社区建设": "street",
    "经济管理": "street",
    "经济管理/金融财税": "D-TAX",
    "经济管理/安全生产": "D-EMERGENCY",
    "科技与信息产业": "street",
    "科技与信息产业/电信": "D-COMM",
    "国土资源": "D-PLAN",
    "农村农业": "D-AGRI",
    "农村农业/水利水电": "D-WATER",
    "纪检监察": "D-DISCIPLINE",
    "党务政务": "street",
}

POLICIES = {
    # urgency: sign h, contact h, complete amount, unit, counting
    "urgent": (2, 2, 2, "hours", "natural"),
    "utilities": (2, 24, 24, "hours", "natural"),
    "ordinary": (2, 24, 7, "days", "working"),
    "complex": (2, 24, 15, "days", "working"),
}

# Names callers use for places, each with the street that owns it.
ALIASES = [
    ("王府井", "东城区", "东华门街道"),
    ("南锣鼓巷", "东城区", "交道口街道"),
    ("天坛公园", "东城区", "天坛街道"),
    ("前门大街", "东城区", "前门街道"),
    ("西单", "西城区", "西长安街街道"),
    ("金融街", "西城区", "金融街街道"),
    ("后海", "西城区", "什刹海街道"),
    ("大栅栏", "西城区", "大栅栏街道"),
    ("牛街", "西城区", "牛街街道"),
    ("国贸", "朝阳区", "建外街道"),
    ("三里屯太古里", "朝阳区", "三里屯街道"),
    ("望京SOHO", "朝阳区", "望京街道"),
    ("798艺术区", "朝阳区", "酒仙桥街道"),
    ("潘家园旧货市场", "朝阳区", "潘家园街道"),
    ("鸟巢", "朝阳区", "奥运村街道"),
    ("五道口", "海淀区", "学院路街道"),
    ("中关村大街", "海淀区", "中关村街道"),
    ("北京大学", "海淀区", "燕园街道"),
    ("上地信息产业基地", "海淀区", "上地街道"),
    ("回龙观", "昌平区", "回龙观街道"),
    ("天通苑", "昌平区", "天通苑北街道"),
    ("亦庄", "大兴区", "亦庄地区"),
    ("方庄", "丰台区", "方庄街道"),
    ("卢沟桥", "丰台区", "卢沟桥街道"),
]


def _read(name: str) -> list[dict]:
    with open(DATA_DIR / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load(apps) -> dict[str, int]:
    """Load or refresh everything. ``apps`` is a migration's app registry or django.apps."""
    Unit = apps.get_model("dispatch", "Unit")
    Category = apps.get_model("tickets", "Category")
    DispatchRule = apps.get_model("dispatch", "DispatchRule")
    DeadlinePolicy = apps.get_model("dispatch", "DeadlinePolicy")
    AddressAlias = apps.get_model("dispatch", "AddressAlias")
    counts = {}

    centre, _ = Unit.objects.update_or_create(
        code=CENTRE_CODE, defaults={"name": "北京市12345市民服务热线中心", "kind": "centre"})
    streets = _read("beijing_streets.csv")
    districts = {}
    for row in streets:
        if row["district_code"] not in districts:
            districts[row["district_code"]], _ = Unit.objects.update_or_create(
                code=row["district_code"],
                defaults={"name": row["district_name"], "kind": "district", "parent": centre})
    street_units = {}
    for row in streets:
        street_units[(row["district_name"], row["street_name"])], _ = Unit.objects.update_or_create(
            code=row["street_code"],
            defaults={"name": row["street_name"], "kind": "street",
                      "parent": districts[row["district_code"]]})
    departments = {}
    for code, name, duties in DEPARTMENTS:
        departments[code], _ = Unit.objects.update_or_create(
            code=code, defaults={"name": name, "kind": "department", "duties": duties,
                                 "parent": centre})
    counts["districts"], counts["streets"] = len(districts), len(street_units)
    counts["departments"] = len(departments)

    by_path = {c.path: c for c in Category.objects.all()}
    for row in _read("taxonomy.csv"):
        parent = None
        parts = [row["level1"].strip(), row["level2"].strip(), row["level3"].strip()]
        for level, name in enumerate(p for p in parts if p):
            path = f"{parent.path}/{name}" if parent else name
            node = by_path.get(path)
            if node is None:
                node = by_path[path] = Category.objects.create(
                    name=name, parent=parent, level=level + 1, path=path)
            parent = node
    counts["categories"] = len(by_path)

    for path, owner in CATALOGUE.items():
        DispatchRule.objects.update_or_create(
            category=by_path[path], district=None,
            defaults={"owner_kind": "street" if owner == "street" else "department",
                      "department": None if owner == "street" else departments[owner]})
    counts["dispatch rules"] = len(CATALOGUE)

    for urgency, (sign, contact, amount, unit, counting) in POLICIES.items():
        DeadlinePolicy.objects.get_or_create(
            urgency=urgency,
            defaults={"sign_hours": sign, "contact_hours": contact, "complete_amount": amount,
                      "complete_unit": unit, "counting": counting})

    for alias, district, street in ALIASES:
        AddressAlias.objects.get_or_create(alias=alias, street=street_units[(district, street)])
    counts["aliases"] = len(ALIASES)
    return counts
