"""The seeded history names who acted: staff the seed makes for each unit and for the centre,
with the roles and units the platform's own users have (benchmarks/seeding/world.py)."""

import numpy as np
import pytest
from django.contrib.auth import get_user_model

from benchmarks.seeding.constants import CENTRE_STAFF, STAFF_PER_UNIT
from benchmarks.seeding.world import _make_staff
from dispatch.access import roles_of
from dispatch.models import Role, StaffProfile

pytestmark = pytest.mark.django_db


def test_each_unit_and_the_centre_get_staff_of_their_own(units):
    centre_staff, unit_staff = _make_staff([units.street_a.pk, units.gas.pk], units.centre.pk)

    assert len(centre_staff) == CENTRE_STAFF
    assert unit_staff.shape == (max(units.street_a.pk, units.gas.pk) + 1, STAFF_PER_UNIT)
    profiles = dict(StaffProfile.objects.values_list("user_id", "unit_id"))
    assert {profiles[int(u)] for u in centre_staff} == {units.centre.pk}
    assert {profiles[int(u)] for u in unit_staff[units.street_a.pk]} == {units.street_a.pk}
    assert {profiles[int(u)] for u in unit_staff[units.gas.pk]} == {units.gas.pk}
    assert not unit_staff[units.street_b.pk].any()  # not asked for: nobody

    User = get_user_model()
    street_user = User.objects.get(pk=int(unit_staff[units.street_a.pk][0]))
    assert roles_of(street_user) == {Role.STREET_STAFF}
    assert roles_of(User.objects.get(pk=int(unit_staff[units.gas.pk][0]))) == {
        Role.DEPARTMENT_STAFF}
    assert not street_user.has_usable_password()
    centre_roles = {r for u in centre_staff for r in roles_of(User.objects.get(pk=int(u)))}
    assert centre_roles == {Role.AGENT, Role.DISPATCHER}
    assert len(np.unique(np.concatenate([centre_staff, unit_staff.ravel()]))) == (
        CENTRE_STAFF + 2 * STAFF_PER_UNIT + 1)  # every user once, and the zeros
