"""docs/openapi.yaml is a valid OpenAPI document and describes the callout URLs that exist."""

import schemathesis
from django.urls import URLPattern, resolve, reverse

from billing.callouts import urls as callout_urls
from billing.callouts import views
from tests.fuzz.conftest import SPEC


def load() -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_path(SPEC)


def test_the_spec_is_a_valid_openapi_3_1_document() -> None:
    spec = load()

    spec.validate()

    assert spec.raw_schema["openapi"].startswith("3.1.")


def test_the_spec_paths_are_the_callout_urls() -> None:
    callout_paths = {
        reverse(f"callouts:{pattern.name}")
        for pattern in callout_urls.urlpatterns
        if isinstance(pattern, URLPattern)
    }

    assert set(load().raw_schema["paths"]) == callout_paths


def test_each_spec_path_reaches_its_view_with_or_without_a_trailing_slash() -> None:
    expected = {
        "/api/v1/zuora/callouts/sync_account": views.sync_account,
        "/api/v1/zuora/callouts/sync_account_contact": views.sync_account_contact,
    }
    for path in load().raw_schema["paths"]:
        assert resolve(path).func is expected[path]
        assert resolve(path + "/").func is expected[path]


def test_the_spec_documents_get_and_post_as_accepted_and_other_methods_as_405() -> None:
    for path_item in load().raw_schema["paths"].values():
        statuses = {
            method.upper(): set(operation["responses"])
            for method, operation in path_item.items()
            if isinstance(operation, dict) and "responses" in operation
        }
        accepted = {method for method, documented in statuses.items() if "200" in documented}
        refused = {method for method, documented in statuses.items() if documented == {"405"}}

        assert accepted == set(views.ALLOWED_METHODS)
        assert refused == {"PUT", "PATCH", "DELETE"}
