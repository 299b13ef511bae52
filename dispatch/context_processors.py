from dispatch.access import is_centre_user, roles_of, unit_id_of


def staff(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_roles": roles_of(user),
        "user_is_centre": is_centre_user(user),
        "user_unit_id": unit_id_of(user),
    }
