"""infra/template.yaml: cfn-lint clean, least privilege, private encrypted storage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"


def resources() -> dict[str, Any]:
    return dict(yaml_parse(TEMPLATE.read_text())["Resources"])


def statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    props = resource["Properties"]
    found = []
    for policy in props.get("Policies", []):
        if isinstance(policy, dict):
            found += policy.get("Statement", [])
    found += props.get("PolicyDocument", {}).get("Statement", [])
    return found


def test_cfn_lint_passes() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_wildcard_actions_and_resources_scoped_to_the_stack() -> None:
    for name, resource in resources().items():
        for statement in statements(resource):
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            assert all("*" not in a for a in actions), (name, actions)
            if statement["Effect"] == "Allow":
                resource_ref = statement["Resource"]
                assert resource_ref != "*", name


def test_bucket_is_private_encrypted_versioned_and_tls_only() -> None:
    all_resources = resources()
    bucket = all_resources["UploadsBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (tls,) = statements(all_resources["UploadsBucketPolicy"])
    assert tls["Effect"] == "Deny"
    assert tls["Condition"]["Bool"]["aws:SecureTransport"] == "false"


def test_tables_topic_and_stream_settings() -> None:
    all_resources = resources()
    for name in ("InventoryTable", "StateTable"):
        table = all_resources[name]["Properties"]
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
        assert table["SSESpecification"]["SSEEnabled"]
    inventory = all_resources["InventoryTable"]["Properties"]
    assert [k["AttributeName"] for k in inventory["KeySchema"]] == ["Store", "Item"]
    assert inventory["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert all_resources["AlertsTopic"]["Properties"]["KmsMasterKeyId"]
    stream = all_resources["CheckStockFunction"]["Properties"]["Events"]["StockChanged"][
        "Properties"
    ]
    assert stream["BisectBatchOnFunctionError"] is True
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    assert stream["FilterCriteria"]["Filters"]
