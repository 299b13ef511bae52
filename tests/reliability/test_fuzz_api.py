"""Schemathesis against the project's own OpenAPI schema: generated requests (valid and
invalid) to every operation, as a dispatcher with a token. No response may be a 500, and every
documented response must match its schema. Fixed seed, bounded examples."""

import json

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from hotline.wsgi import application

MAX_EXAMPLES = 12


def _load_schema():
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    spec = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(spec)))
    loaded.app = application  # requests go through the real WSGI application
    return loaded


schema = _load_schema()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # Like Django's test client: the WSGI handler must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_no_operation_answers_500_or_breaks_its_schema(case, people):
    from tests import factories

    factories.OrderFactory(actor=people.agent)  # something to find, sign, complete…
    token, _ = Token.objects.get_or_create(user=people.dispatcher)
    response = case.call(headers={"Authorization": f"Token {token.key}"})
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance,
                                             content_type_conformance])
