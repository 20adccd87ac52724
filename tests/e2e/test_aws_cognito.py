"""People from Cognito: API Gateway events carrying the claims its JWT authorizer verified.

The stack is infra/template.yaml in moto; moto runs neither API Gateway's authorizer nor
Lambda, so the events are built as API Gateway sends them after verifying an ID token
(``requestContext.authorizer.jwt.claims``), with no stockwatch token at all. Everything
behind the handler is real: the loader reads the uploader's stores from the S3 object's
metadata and rejects the rows for other stores.
"""

from __future__ import annotations

from typing import Any

from tests.aws_stack import Aws
from tests.conftest import csv_bytes
from tests.e2e.test_aws_api import call, gateway_event, run_pipeline, stack  # noqa: F401

MIXED = csv_bytes(("Berlin", "Echo Dot", 0), ("Karachi", "Tap", 4), ("Berlin", "Kindle", 7))


def as_person(
    method: str,
    path: str,
    groups: str,
    stores: str | None = None,
    name: str = "ana@example.com",
    **kwargs: Any,
) -> dict[str, Any]:
    event = gateway_event(method, path, token=None, **kwargs)
    claims = {
        "sub": "0f6c",
        "email": name,
        "email_verified": "true",
        "cognito:username": name,
        "cognito:groups": groups,
    }
    if stores is not None:
        claims["custom:stores"] = stores
    event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return event


def test_cognito_groups_and_stores_become_roles_and_scope(stack: Aws) -> None:  # noqa: F811
    # An admin's upload loads every store.
    status, queued, _ = call(
        as_person(
            "POST",
            "/api/uploads",
            "[admin]",
            name="root@example.com",
            query={"filename": "all.csv"},
            body=MIXED,
            headers={"content-type": "text/csv"},
        )
    )
    assert status == 202, queued
    report = run_pipeline(stack)
    assert (report["rows_loaded"], report["uploaded_by"]) == (3, "root@example.com")

    # A store user's mixed upload: its own rows load, Karachi's is rejected with its line.
    status, queued, _ = call(
        as_person(
            "POST",
            "/api/uploads",
            "[store]",
            "Berlin",
            query={"filename": "berlin.csv"},
            body=csv_bytes(("Berlin", "Echo Dot", 5), ("Karachi", "Tap", 0)),
            headers={"content-type": "text/csv"},
        )
    )
    assert status == 202, queued
    report = run_pipeline(stack)
    assert (report["rows_loaded"], report["rows_rejected"]) == (1, 1)
    (error,) = report["errors"]
    assert (error["line"], error["field"]) == (3, "store")
    assert 'store "Karachi" is not one of yours' in error["message"]

    # Reads are the person's stores only.
    me = call(as_person("GET", "/api/me", "[store]", "Berlin"))[1]
    assert (me["name"], me["role"], me["stores"]) == ("ana@example.com", "store", ["Berlin"])
    _, stores, _ = call(as_person("GET", "/api/stores", "[store]", "Berlin"))
    assert [s["store"] for s in stores] == ["Berlin"]
    status, body, _ = call(
        as_person("GET", "/api/stock", "[store]", "Berlin", query={"store": "Karachi"})
    )
    assert status == 403 and "not one of yours" in body["message"]
    _, everything, _ = call(as_person("GET", "/api/stores", "[viewer]"))
    assert sorted(s["store"] for s in everything) == ["Berlin", "Karachi"]

    # A viewer may not upload; a manager may not set another store's thresholds.
    status, body, _ = call(
        as_person(
            "POST", "/api/uploads", "[viewer]", body=MIXED, headers={"content-type": "text/csv"}
        )
    )
    assert status == 403 and "a viewer may not upload" in body["message"]
    status, body, _ = call(
        as_person(
            "POST",
            "/api/thresholds",
            "[manager]",
            "Berlin",
            body=b'[{"store": "Karachi", "item": "Tap", "minimum": 2}]',
            headers={"content-type": "application/json"},
        )
    )
    assert status == 403 and "not one of yours" in body["message"]

    # Signed in with Cognito but in none of stockwatch's groups: nothing.
    status, body, _ = call(as_person("GET", "/api/stores", "[cashiers]"))
    assert status == 403 and "no stockwatch group" in body["message"]
    # Claims only count where API Gateway put them: a header saying so is nobody.
    forged = gateway_event(
        "GET", "/api/stores", token=None, headers={"x-jwt-claims": '{"cognito:groups": "admin"}'}
    )
    assert call(forged)[0] == 401


def test_a_signed_form_sends_a_file_straight_to_s3_with_its_uploaders_scope(
    stack: Aws,  # noqa: F811
) -> None:
    """POST /api/uploads/form signs a form for the bucket: no 6 MB API body limit, and the
    uploader and its stores ride along as the object's metadata, which the loader enforces.
    (That S3 refuses a form whose signed fields were altered is S3's part; moto does not
    check the policy, so it is not asserted here.)"""
    import httpx

    me = call(as_person("GET", "/api/me", "[store]", "Berlin"))[1]
    assert me["upload_form"] is True
    status, form, _ = call(
        as_person(
            "POST", "/api/uploads/form", "[store]", "Berlin", query={"filename": "big berlin.csv"}
        )
    )
    assert status == 200, form
    assert form["fields"]["x-amz-meta-stockwatch-uploader"] == "ana@example.com"
    assert form["fields"]["x-amz-meta-stockwatch-stores"] == '["Berlin"]'
    # A file bigger than API Gateway takes as a body (6 MB): 100 rows with a long note
    # each, which the reader ignores (an extra column),, and one row for another store.
    note = "n" * 63_000
    lines = ["store,item,count,note"]
    lines += [f"Berlin,Item {n},{n % 50},{note}" for n in range(100)]
    lines.append(f"Karachi,Tap,1,{note}")
    body = ("\n".join(lines) + "\n").encode()
    assert len(body) > 6 * 1024 * 1024
    sent = httpx.post(
        form["url"], data=form["fields"], files={"file": ("big berlin.csv", body, "text/csv")}
    )
    assert sent.status_code in (200, 201, 204), sent.text
    report = run_pipeline(stack)
    assert report["file"] == form["id"]
    assert (report["rows_loaded"], report["rows_rejected"]) == (100, 1)
    assert report["uploaded_by"] == "ana@example.com"
    assert report["errors"][0]["line"] == 102
    status, done, _ = call(as_person("GET", f"/api/uploads/{form['id']}", "[store]", "Berlin"))
    assert status == 200 and done["status"] == "loaded_with_errors"

    refused = call(as_person("POST", "/api/uploads/form", "[viewer]", query={"filename": "x.csv"}))
    assert refused[0] == 403
