"""``rollout.connect.aws_failure``: each AWS failure of a rollout as a UserError with its cause and fix, and no
secret from the error (audit robust-8). The answers are botocore's own exception classes, built as botocore
raises them (``ClientError(error_response, operation_name)``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ProfileNotFound

from mlops_infra.compile import compile_system
from mlops_infra.errors import UserError
from mlops_infra.rollout.connect import aws_errors, aws_failure
from mlops_infra.spec import load_system

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
SOURCE = "fd/mlsystem.yaml"


@pytest.fixture(scope="module")
def graph():
    return compile_system(load_system(EXAMPLE, "prod").system, "prod")


def _client_error(code: str, message: str, operation: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       operation)


def test_access_denied_names_the_action_the_role_lacks(graph):
    error = _client_error(
        "AccessDeniedException", "User: arn:aws:sts::222222222222:assumed-role/dev/alice is not authorized to "
        "perform: sagemaker:DescribeEndpoint on resource: arn:aws:sagemaker:eu-west-1:222222222222:endpoint/x "
        "because no identity-based policy allows the sagemaker:DescribeEndpoint action", "DescribeEndpoint")
    failure = aws_failure(error, graph, "scorer", SOURCE)
    assert isinstance(failure, UserError) and failure.source == SOURCE
    assert failure.summary == ("rollout of 'scorer' in environment 'prod' (account 222222222222, eu-west-1): "
                               "AWS denied DescribeEndpoint (AccessDeniedException)")
    assert failure.detail.startswith("The credentials' role needs sagemaker:DescribeEndpoint on the endpoint's")


def test_access_denied_without_an_action_in_the_message_names_the_operation(graph):
    failure = aws_failure(_client_error("AccessDenied", "Forbidden", "UpdateEndpoint", 403), graph, "scorer")
    assert failure.summary.endswith("AWS denied UpdateEndpoint (AccessDenied)")
    assert "the IAM action of UpdateEndpoint" in failure.detail and failure.source is None


def test_describe_endpoint_not_found_says_apply_first(graph):
    error = _client_error("ValidationException", "Could not find endpoint 'arn:aws:sagemaker:eu-west-1:"
                          "222222222222:endpoint/fraud-detection-prod-scorer'.", "DescribeEndpoint")
    failure = aws_failure(error, graph, "scorer", SOURCE)
    assert failure.summary.endswith("the SageMaker endpoint 'fraud-detection-prod-scorer' does not exist")
    assert f"`mlops-infra apply {SOURCE} --env prod`" in failure.detail


def test_another_not_found_is_not_called_unapplied(graph):
    error = _client_error("ValidationException", "Could not find endpoint configuration 'c'.", "UpdateEndpoint")
    failure = aws_failure(error, graph, "scorer", SOURCE)
    assert "does not exist" not in failure.summary
    assert "AWS answered ValidationException: Could not find endpoint configuration 'c'. to UpdateEndpoint" \
        in failure.summary


def test_expired_credentials_say_log_in(graph):
    failure = aws_failure(_client_error("ExpiredTokenException", "The security token included in the request is "
                                        "expired", "DescribeEndpoint"), graph, "scorer")
    assert "AWS refused the credentials (ExpiredTokenException)" in failure.summary
    assert "aws sso login" in failure.detail and "account 222222222222" in failure.detail


def test_no_secret_of_an_answer_is_shown(graph):
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    error = _client_error("InternalFailure", f"boom AKIAIOSFODNN7EXAMPLE aws_secret_access_key={secret}",
                          "DescribeEndpoint", 500)
    failure = aws_failure(error, graph, "scorer")
    text = failure.summary + failure.detail
    assert secret not in text and "AKIAIOSFODNN7EXAMPLE" not in text and "InternalFailure" in failure.summary


def test_botocore_classes(graph):
    no_creds = aws_failure(NoCredentialsError(), graph, "scorer")
    assert no_creds.summary.endswith("no AWS credentials (NoCredentialsError)")
    profile = aws_failure(ProfileNotFound(profile="ops"), graph, "scorer")
    assert "the AWS profile 'ops' (AWS_PROFILE) is not in your AWS config" in profile.summary
    unreachable = aws_failure(EndpointConnectionError(endpoint_url="https://u:p@sm.example:8443/x?y=1"), graph, "s")
    assert unreachable.summary.endswith("could not reach AWS at https://sm.example:8443 (EndpointConnectionError)")
    malformed = aws_failure(ValueError("Invalid endpoint: nota-url"), graph, "scorer")
    assert "the AWS endpoint URL is not valid (ValueError)" in malformed.summary and "nota-url" not in malformed.summary


def test_aws_errors_are_botocores():
    assert {cls.__name__ for cls in aws_errors()} == {"BotoCoreError", "ClientError"}
