"""Request bodies are bounded before they are parsed (issue 23): a JSON body nested ~980 levels
deep (2 kB) was a 500 (RecursionError) on every route that takes a body; now each answers a
400 naming the limit in its own face's error shape, and so does a body over the size bound."""
from __future__ import annotations

import pytest

from api import create_app
from api.faces.http import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_depth

# (method, path, how the route's face names the refusal in its answer)
BODY_ROUTES = [
    ("post", "/carbon-aware-scheduler/", lambda body: (body["error"]["code"], body["error"]["message"])),
    ("post", "/emissions/forecasts/batch", lambda body: ("problem", " ".join(body["errors"]["body"]))),
    ("post", "/emissions/average-carbon-intensity/batch", lambda body: ("problem", " ".join(body["errors"]["body"]))),
    ("get", "/legacy/carbon-aware-scheduler/", lambda body: (body["code"], body["error"])),
]


@pytest.fixture(scope="module")
def client(database_url_session):
    return create_app(database_url_session).test_client()


def send(client, method: str, path: str, data: bytes):
    return getattr(client, method)(path, data=data, content_type="application/json")


@pytest.mark.parametrize("method, path, refusal", BODY_ROUTES)
@pytest.mark.parametrize("deep", [b"[" * 980 + b"]" * 980, b'{"a":' * 700 + b"1" + b"}" * 700])
def test_a_deeply_nested_body_is_a_400_naming_the_limit(client, method, path, refusal, deep):
    assert len(deep) < 6_000
    response = send(client, method, path, deep)
    assert response.status_code == 400, response.data[:300]
    code, message = refusal(response.get_json())
    assert code in ("body_too_deep", "problem")
    assert f"at most {MAX_JSON_DEPTH}" in message


@pytest.mark.parametrize("method, path, refusal", BODY_ROUTES)
def test_a_body_over_the_size_bound_is_a_400_naming_it(client, method, path, refusal):
    big = b'[{"location": "' + b"x" * MAX_BODY_BYTES + b'"}]'
    response = send(client, method, path, big)
    assert response.status_code == 400, response.data[:300]
    code, message = refusal(response.get_json())
    assert code in ("body_too_large", "problem")
    assert f"at most {MAX_BODY_BYTES:,} bytes" in message


def test_depth_is_counted_outside_strings_without_parsing():
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{"}]}') == 3
    assert json_depth(b'["\\"[[[[", "\\\\", [[]]]') == 3   # escaped quotes and backslashes end no string
    assert json_depth(b"1") == 0 and json_depth(b"") == 0
