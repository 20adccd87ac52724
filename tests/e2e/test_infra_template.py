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
            found += policy.get("PolicyDocument", {}).get("Statement", [])
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
            if statement["Effect"] == "Allow" and statement["Resource"] == "*":
                # Only where AWS takes no resource-level permission at all.
                assert set(actions) <= ANYWHERE_ONLY, (name, actions)


# Actions that AWS grants only on "*" (no resource-level permissions).
ANYWHERE_ONLY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_the_functions_roles_are_the_templates_own_with_no_managed_policies() -> None:
    """The SAM event sources would add AWSLambdaSQSQueueExecutionRole (every queue of the
    account) and AWSLambdaDynamoDBExecutionRole (every stream): each function has an
    explicit role instead, its queue and stream rights scoped to its own (#25)."""
    import os

    from samtranslator.translator.transform import transform

    template = dict(yaml_parse(TEMPLATE.read_text()))
    template["Globals"]["Function"]["CodeUri"] = "s3://artifacts/code.zip"

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    translated = transform(template, {}, NoManagedPolicies())["Resources"]
    roles = {n: r for n, r in translated.items() if r["Type"] == "AWS::IAM::Role"}
    assert {"LoadInventoryRole", "CheckStockRole", "ApiRole"} <= set(roles)
    for name, role in roles.items():
        assert not role["Properties"].get("ManagedPolicyArns"), name
    for name in ("LoadInventoryFunction", "CheckStockFunction", "ApiFunction"):
        logs = translated[name.replace("Function", "Logs")]["Properties"]
        assert logs["RetentionInDays"] == 90 and logs["KmsKeyId"]
        assert translated[name.replace("Function", "Logs")]["DeletionPolicy"] == "Retain"
    reads = [s for s in statements(roles["CheckStockRole"]) if "dynamodb:GetRecords" in s["Action"]]
    assert reads and all("StreamArn" in str(s["Resource"]) for s in reads)


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
    every, candidates = stream["FilterCriteria"]["Fn::If"][1:]
    assert stream["FilterCriteria"]["Fn::If"][0] == "JudgeEveryChange"
    assert every["Filters"] == [{"Pattern": '{"eventName": ["INSERT", "MODIFY", "REMOVE"]}'}]
    assert len(candidates["Filters"]) == 4  # at most 5 filters per event source mapping
    # Deletes and rows written by another program void the store's record (store_marks).
    assert {"Pattern": '{"eventName": ["REMOVE"]}'} in candidates["Filters"]


def test_alarms_reach_a_topic_cloudwatch_can_publish_to() -> None:
    """Alarms go to the operations topic; both topics use the stack's customer-managed key,
    whose policy lets CloudWatch and SNS use it (alias/aws/sns would drop the alarms)."""
    all_resources = resources()
    alarms = {n: r for n, r in all_resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert len(alarms) >= 5
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "OperationsTopic"}], name
    for topic in ("AlertsTopic", "OperationsTopic"):
        assert all_resources[topic]["Properties"]["KmsMasterKeyId"] == {"Ref": "StockwatchKey"}
    key = all_resources["StockwatchKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    by_service = {
        str(s["Principal"]["Service"]): s
        for s in key["KeyPolicy"]["Statement"]
        if "Service" in s["Principal"]
    }
    for service in ("cloudwatch.amazonaws.com", "sns.amazonaws.com"):
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(by_service[service]["Action"])
    (publish,) = statements(all_resources["OperationsTopicPolicy"])
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}


def test_a_failed_upload_lands_in_a_queue_with_an_alarm_on_it() -> None:
    all_resources = resources()
    config = all_resources["LoadInventoryFunction"]["Properties"]["EventInvokeConfig"]
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["LoadInventoryFailures", "Arn"]},
    }
    handover = all_resources["LoadInventoryQueue"]["Properties"]
    assert handover["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["LoadInventoryFailures", "Arn"]
    }
    assert (
        handover["VisibilityTimeout"]
        >= all_resources["LoadInventoryFunction"]["Properties"]["Timeout"]
    )
    alarm = all_resources["LoadInventoryFailuresAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["LoadInventoryFailures", "QueueName"]}


def test_the_stack_makes_the_api_token_and_says_how_to_read_it() -> None:
    template = yaml_parse(TEMPLATE.read_text())
    secret = template["Resources"]["ApiTokenSecret"]["Properties"]
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32
    assert "ApiTokenParameter" not in template["Parameters"]  # nothing to make by hand
    assert "get-secret-value" in str(template["Outputs"]["ApiTokenCommand"]["Value"])
    api = template["Resources"]["ApiFunction"]["Properties"]
    assert api["Environment"]["Variables"]["STOCKWATCH_TOKEN_SECRET_ARN"] == {
        "Ref": "ApiTokenSecret"
    }


def test_each_function_is_built_on_its_own_and_checkov_skips_say_why() -> None:
    all_resources = resources()
    for name in ("LoadInventoryFunction", "CheckStockFunction", "ApiFunction"):
        function = all_resources[name]
        assert function["Metadata"]["BuildMethod"] == "makefile", name
        for skip in function["Metadata"]["checkov"]["skip"]:
            assert len(skip["comment"]) > 30, skip


def test_the_api_may_do_what_a_threshold_change_does() -> None:
    """Setting a threshold raises and resolves alerts and sends their digest, from the API."""
    actions = {a for s in statements(resources()["ApiRole"]) for a in s["Action"]}
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= actions
    assert {"sns:Publish", "kms:GenerateDataKey"} <= actions
    assert "sqs:SendMessage" in actions  # confirming a held snapshot hands it on


def test_cognito_is_optional_and_guards_every_api_route() -> None:
    """CognitoUsers=Enabled: a pool with the four role groups, a stores attribute people
    cannot change themselves, and a JWT authorizer on /api/{proxy+} (the page stays open)."""
    template = yaml_parse(TEMPLATE.read_text())
    assert template["Parameters"]["CognitoUsers"]["Default"] == "Disabled"
    found = template["Resources"]
    cognito = {n for n, r in found.items() if r.get("Condition") == "UseCognito"}
    assert {"UserPool", "UserPoolClient", "CognitoAuthorizer", "CognitoApiRoute"} <= cognito
    groups = {found[n]["Properties"]["GroupName"] for n in cognito if n.endswith("Group")}
    assert groups == {"admin", "manager", "store", "viewer"}
    client = found["UserPoolClient"]["Properties"]
    assert "custom:stores" in client["ReadAttributes"]
    assert "custom:stores" not in client["WriteAttributes"]
    assert found["UserPool"]["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"]
    route = found["CognitoApiRoute"]["Properties"]
    assert (route["RouteKey"], route["AuthorizationType"]) == ("ANY /api/{proxy+}", "JWT")
    jwt = found["CognitoAuthorizer"]["Properties"]["JwtConfiguration"]
    assert jwt["Audience"] == [{"Ref": "UserPoolClient"}]


def test_kept_things_are_retained_and_files_expire_as_on_one_machine() -> None:
    """#25: the key, the queues and the user pool survive a stack's deletion; the bucket
    keeps files as long as `stockwatch compact` does and old versions 30 days."""
    found = resources()
    for name in (
        "StockwatchKey",
        "LoadInventoryQueue",
        "LoadInventoryFailures",
        "CheckStockFailures",
        "SubscriptionFailures",
        "UserPool",
        "UploadsBucket",
    ):
        assert found[name]["DeletionPolicy"] == "Retain", name
    rule, records = found["UploadsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "KeepFilesDays"}
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    # The stores' records are rewritten by every upload: old versions go after a day.
    assert records["Prefix"] == "stockwatch/records/"
    assert records["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
