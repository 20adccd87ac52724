"""The API token on AWS: STOCKWATCH_TOKEN, else the stack's secret, else an SSM parameter."""

from __future__ import annotations

import os

from botocore.exceptions import ClientError

from stockwatch.aws.settings import AwsSettings


class NoToken(RuntimeError):
    pass


def load_token(settings: AwsSettings) -> str:
    """The API token: STOCKWATCH_TOKEN, else the stack's secret, else an SSM parameter.

    The stack makes the secret (STOCKWATCH_TOKEN_SECRET_ARN), so a deploy needs no step by
    hand; an SSM SecureString (STOCKWATCH_TOKEN_PARAMETER) still works for those who made
    one. Behind API Gateway the API faces the internet, so there is no running without one.
    """
    token = os.environ.get("STOCKWATCH_TOKEN")
    secret = os.environ.get("STOCKWATCH_TOKEN_SECRET_ARN")
    parameter = os.environ.get("STOCKWATCH_TOKEN_PARAMETER")
    where = "STOCKWATCH_TOKEN"
    try:
        if not token and secret:
            where = f"the secret {secret}"
            token = settings.client("secretsmanager").get_secret_value(SecretId=secret)[
                "SecretString"
            ]
        elif not token and parameter:
            where = f"the SSM parameter {parameter}"
            ssm = settings.client("ssm")
            token = ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise NoToken(
            f"cannot read the API token from {where}: {error.get('Code')}: "
            f"{error.get('Message')}; check that it exists and that the function may read it"
        ) from None
    if not token or len(token) < 16:
        raise NoToken(
            "the API needs a token of at least 16 characters: set STOCKWATCH_TOKEN_SECRET_ARN "
            f"(the stack does), STOCKWATCH_TOKEN or STOCKWATCH_TOKEN_PARAMETER; read {where}"
        )
    return token
