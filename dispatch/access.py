"""Who a user is: their roles (Django groups) and their unit. Read once per request, from the
shared cache or in one query (with the API token: ``TokenAuthentication``), and kept on the user
object."""

import hashlib
import logging
import secrets

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, IntegerField, OuterRef, Subquery, Sum, Value, When
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from dispatch.models import CENTRE_ROLES, Role, UNIT_ROLES

#: A user's roles travel as one integer: the sum of their groups' bits (group names are unique,
#: so no bit is counted twice). Other groups than the roles mean nothing here.
ROLE_BITS = {role: 1 << i for i, role in enumerate(Role.values)}

logger = logging.getLogger(__name__)


def identity(user_ref) -> dict:
    """Annotations reading a user's roles (``hotline_role_bits``) and unit (``hotline_unit_id``)
    as two subqueries of the query that reads the user (``user_ref``: its id, an ``OuterRef``)."""
    from django.contrib.auth import get_user_model

    from dispatch.models import StaffProfile

    memberships = get_user_model().groups.through.objects.filter(
        user_id=user_ref, group__name__in=list(ROLE_BITS))
    role_bits = memberships.values("user_id").annotate(bits=Sum(Case(
        *[When(group__name=role, then=Value(bit)) for role, bit in ROLE_BITS.items()],
        default=Value(0), output_field=IntegerField()))).values("bits")
    unit_id = StaffProfile.objects.filter(user_id=user_ref).values("unit_id")
    return {"hotline_role_bits": Subquery(role_bits), "hotline_unit_id": Subquery(unit_id)}


def remember(user, *, role_bits: int | None, unit_id: int | None) -> None:
    """Keep a user's roles and unit on the user object for the rest of the request."""
    names = {role for role, bit in ROLE_BITS.items() if (role_bits or 0) & bit}
    if user.is_superuser:
        names.add(Role.ADMIN)
    user._hotline_roles = frozenset(names)
    user._hotline_unit_id = unit_id


def _load(user) -> None:
    """A signed-in user's roles and unit: from the shared cache, under the same generation as
    the API tokens (so any change to a user, their groups or unit is seen at once), or in one
    query, then kept for ``TOKEN_CACHE_SECONDS``."""
    cache_key = f"identity:{user.pk}"
    kept, generation = _kept(cache_key)
    if kept is not None:
        role_bits, unit_id = kept
    else:
        role_bits, unit_id = (
            user._meta.model._default_manager.filter(pk=user.pk)
            .annotate(**identity(OuterRef("pk")))
            .values_list("hotline_role_bits", "hotline_unit_id").get())
        if generation is not None:
            _keep(cache_key, (generation, role_bits, unit_id))
    remember(user, role_bits=role_bits, unit_id=unit_id)


def roles_of(user) -> frozenset[str]:
    if user is None or not user.is_authenticated:
        return frozenset()
    if getattr(user, "_hotline_roles", None) is None:
        _load(user)
    return user._hotline_roles


def unit_id_of(user) -> int | None:
    if user is None or not user.is_authenticated:
        return None
    if not hasattr(user, "_hotline_unit_id"):
        _load(user)
    return user._hotline_unit_id


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def is_centre_user(user) -> bool:
    """Centre staff (agents, dispatchers, analysts, administrators) see every order."""
    return bool(roles_of(user) & CENTRE_ROLES)


def is_unit_user(user) -> bool:
    return bool(roles_of(user) & UNIT_ROLES) and unit_id_of(user) is not None


def can_see_phone(user) -> bool:
    """Unit staff see callers' numbers masked; the centre needs them to call back."""
    return has_role(user, Role.AGENT, Role.DISPATCHER, Role.ADMIN)


# -- API tokens ---------------------------------------------------------------------------------

#: How long an API token's user, roles and unit are kept in the shared cache. Every change made
#: through the ORM (a token, a user, their groups or unit) drops all kept tokens at once (a new
#: generation, below); this bounds what a bulk ``update()`` or raw SQL could leave stale. A cache
#: that fails costs the token's query again, never an answer.
TOKEN_CACHE_SECONDS = 60
_GENERATION = "auth-token-generation"


def _token_cache_key(key: str) -> str:
    # A hash: the cache's key names must not reveal the tokens themselves.
    return "auth-token:" + hashlib.sha256(key.encode()).hexdigest()


def _current_generation(found: dict) -> str:
    generation = found.get(_GENERATION)
    if generation is None:
        cache.add(_GENERATION, secrets.token_hex(8), None)
        generation = cache.get(_GENERATION)
    return generation


def _new_generation() -> None:
    try:
        cache.set(_GENERATION, secrets.token_hex(8), None)
    except Exception:  # noqa: BLE001 - whatever the cache backend raises when it is down
        logger.warning("could not drop the API tokens kept in the cache", exc_info=True)


def forget_tokens(*_args, **_kwargs) -> None:
    """Drop every kept token: the next request of each reads its token from the database.
    A random generation, not a counter, so that an evicted one can never come back. Again
    after the commit: a request between the change and its commit would read and keep the
    old rows."""
    _new_generation()
    transaction.on_commit(_new_generation)


def _kept(cache_key: str) -> tuple[tuple | None, str | None]:
    """What is kept under ``cache_key`` (without its generation) if it is of the current
    generation, and that generation (``None`` when the cache is unavailable: keep nothing)."""
    try:
        found = cache.get_many([cache_key, _GENERATION])
        generation = _current_generation(found)
    except Exception:  # noqa: BLE001 - see TOKEN_CACHE_SECONDS
        logger.warning("the cache is unavailable: identities are read from the database",
                       exc_info=True)
        return None, None
    entry = found.get(cache_key)
    if entry is not None and entry[0] == generation:
        return entry[1:], generation
    return None, generation


def _keep(cache_key: str, entry: tuple) -> None:
    # A token's user comes without its password hash (deferred): the cache never holds one.
    try:
        cache.set(cache_key, entry, TOKEN_CACHE_SECONDS)
    except Exception:  # noqa: BLE001 - see TOKEN_CACHE_SECONDS
        logger.warning("could not keep a user's identity in the cache", exc_info=True)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication that reads the user's roles and unit in the token's query and
    keeps all three in the shared cache for ``TOKEN_CACHE_SECONDS``: an API request then asks
    the database nothing to know who is calling (issue 7: ≤ 6 queries per intake)."""

    def authenticate_credentials(self, key):
        cache_key = _token_cache_key(key)
        kept, generation = _kept(cache_key)
        if kept is not None:
            user, role_bits, unit_id = kept
        else:
            model = self.get_model()
            token = (model.objects.select_related("user").defer("user__password")
                     .annotate(**identity(OuterRef("user_id"))).filter(key=key).first())
            if token is None:
                raise exceptions.AuthenticationFailed(_("Invalid token."))
            user, role_bits, unit_id = token.user, token.hotline_role_bits, token.hotline_unit_id
            if generation is not None:
                _keep(cache_key, (generation, user, role_bits, unit_id))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        remember(user, role_bits=role_bits, unit_id=unit_id)
        return user, self.get_model()(key=key, user=user)


def _user_saved(sender, instance, update_fields=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # every login saves the user: that changes nothing a token stands for
    forget_tokens()


def _memberships_changed(sender, **kwargs) -> None:
    from django.contrib.auth import get_user_model

    if sender is get_user_model().groups.through:
        forget_tokens()


post_save.connect(_user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="tokens-user-save")
post_delete.connect(forget_tokens, sender=settings.AUTH_USER_MODEL,
                    dispatch_uid="tokens-user-delete")
m2m_changed.connect(_memberships_changed, dispatch_uid="tokens-groups")
# A deleted group takes its memberships with it without an m2m signal: hence pre_delete.
for _sender in ("authtoken.Token", "auth.Group", "dispatch.StaffProfile"):
    post_save.connect(forget_tokens, sender=_sender, dispatch_uid=f"tokens-save-{_sender}")
    pre_delete.connect(forget_tokens, sender=_sender, dispatch_uid=f"tokens-delete-{_sender}")
