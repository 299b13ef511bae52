"""Location → jurisdiction (属地) and category → owning unit (派单目录)."""

import pytest

from dispatch import reference
from dispatch.models import AddressAlias, DispatchRule, Unit
from dispatch.routing import resolve_place, route
from tickets.models import Category

from ..factories import category, department, district, street

pytestmark = pytest.mark.django_db


def resolved(address: str) -> tuple[str, str] | None:
    place = resolve_place(address)
    if place.street is None:
        return None
    return place.street.parent.name, place.street.name


def test_reference_data_is_loaded_by_the_migration():
    assert Unit.objects.filter(kind=Unit.Kind.STREET).count() == 349
    assert Unit.objects.filter(kind=Unit.Kind.DISTRICT).count() == 16
    assert Unit.objects.filter(kind=Unit.Kind.DEPARTMENT).count() == 27
    assert Category.objects.filter(level=1).count() == 15
    assert reference.get().policies.keys() == {"urgent", "utilities", "ordinary", "complex"}


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("东城区东华门街道南池子大街12号", ("东城区", "东华门街道")),
        ("西城区金融街街道丰盛胡同3号", ("西城区", "金融街街道")),
        ("朝阳区建外街道建国门外大街1号", ("朝阳区", "建外街道")),
        # the short name, without 街道
        ("景山前街4号，景山附近", ("东城区", "景山街道")),
        ("丰台区卢沟桥宛平城", ("丰台区", "卢沟桥街道")),
        # a township (镇) and an area (地区) by their short names
        ("延庆区延庆镇东关村", ("延庆区", "延庆镇")),
        ("怀柔区怀柔镇青春路", ("怀柔区", "怀柔地区")),
        # aliases callers use for landmarks and compounds
        ("王府井步行街麦当劳门口", ("东城区", "东华门街道")),
        ("望京SOHO T3 楼下", ("朝阳区", "望京街道")),
        ("五道口华联商厦", ("海淀区", "学院路街道")),
        ("天通苑东三区", ("昌平区", "天通苑北街道")),
    ],
)
def test_an_address_resolves_to_the_street_that_owns_it(address, expected):
    assert resolved(address) == expected


@pytest.mark.parametrize(
    ("address", "district_name"),
    [
        ("朝阳区八里庄街道红庙北里5号楼", "朝阳区"),
        ("海淀区八里庄街道北洼路", "海淀区"),
        ("海淀八里庄", "海淀区"),
        ("朝阳八里庄东里", "朝阳区"),
    ],
)
def test_the_two_balizhuang_streets_are_told_apart_by_the_district(address, district_name):
    assert resolved(address) == (district_name, "八里庄街道")


def test_the_longest_place_name_wins():
    # 金融街 is a street's short name and an alias; 金融街街道 is longer and names the same
    # street, 西单 names another: the longest match decides.
    assert resolved("西城区金融街街道西单北大街附近") == ("西城区", "金融街街道")


def test_a_new_alias_is_used_at_once():
    AddressAlias.objects.create(alias="红庙北里", street=street("八里庄街道", "朝阳区"))
    assert resolved("红庙北里3号楼") == ("朝阳区", "八里庄街道")


@pytest.mark.parametrize(
    "address",
    [
        "",
        "北京市某小区",
        # A district's name is not a street's: 海淀区 has 29 streets, one of them 海淀街道;
        # 石景山 contains 景山, a street of 东城区.
        "海淀区某小区12号楼",
        "石景山区某路甲1号",
        "石景山路甲3号",
    ],
)
def test_an_address_naming_no_street_resolves_to_nothing(address):
    assert resolved(address) is None


def test_a_district_name_inside_the_address_does_not_hide_the_street_named_after_it():
    assert resolved("海淀区海淀街道苏州街") == ("海淀区", "海淀街道")
    assert resolved("石景山区鲁谷街道") == ("石景山区", "鲁谷街道")


# -- route --------------------------------------------------------------------------------------


def test_a_catalogue_rule_sends_the_category_to_its_department():
    gas = category("城乡建设/城市建设和市政管理/燃气供应")
    found = route(category_id=gas.pk, street=street("东华门街道"))
    assert found.lead_unit == department("D-GAS")
    assert "燃气供应" in found.reason


def test_a_subcategory_inherits_its_parents_rule():
    # 劳动和社会保障 → 市人力资源和社会保障局; its subcategories have no rule of their own.
    leaf = Category.objects.filter(path__startswith="劳动和社会保障/", level=3).first()
    assert route(category_id=leaf.pk, street=street("东华门街道")).lead_unit == department("D-HRSS")


def test_a_department_rule_applies_even_without_a_street():
    gas = category("城乡建设/城市建设和市政管理/燃气供应")
    assert route(category_id=gas.pk, street=None).lead_unit == department("D-GAS")


def test_a_street_rule_sends_the_order_to_the_street_of_the_location():
    leaf = Category.objects.filter(path__startswith="党务政务/", level=3).first()
    a_street = street("东华门街道")
    found = route(category_id=leaf.pk, street=a_street)
    assert found.lead_unit == a_street
    assert "street" in found.reason


def test_a_district_rule_wins_over_the_citywide_rule_in_its_district_only():
    gas = category("城乡建设/城市建设和市政管理/燃气供应")
    DispatchRule.objects.create(category=gas, district=district("延庆区"), owner_kind="street")
    in_yanqing = street("延庆镇")
    assert route(category_id=gas.pk, street=in_yanqing).lead_unit == in_yanqing
    assert route(category_id=gas.pk, street=street("东华门街道")).lead_unit == department("D-GAS")


def test_the_deepest_rule_wins():
    # 城乡建设 → street, but 城乡建设/…/冬季采暖 → 热力集团.
    heating = category("城乡建设/城市建设和市政管理/冬季采暖")
    assert route(category_id=heating.pk, street=street("东华门街道")).lead_unit == department(
        "D-HEATING"
    )
    top = category("城乡建设")
    assert route(category_id=top.pk, street=street("东华门街道")).lead_unit == street("东华门街道")


def test_a_category_without_any_rule_falls_to_the_street_of_the_location():
    orphan = Category.objects.create(name="其他诉求")
    a_street = street("景山街道")
    found = route(category_id=orphan.pk, street=a_street)
    assert found.lead_unit == a_street
    assert found.reason == "street of the location (default)"


def test_no_category_falls_to_the_street_of_the_location():
    assert route(category_id=None, street=street("景山街道")).lead_unit == street("景山街道")


def test_without_a_street_a_street_owned_category_goes_to_nobody():
    leaf = Category.objects.filter(path__startswith="党务政务/", level=3).first()
    assert route(category_id=leaf.pk, street=None).lead_unit is None
    assert route(category_id=None, street=None).lead_unit is None
