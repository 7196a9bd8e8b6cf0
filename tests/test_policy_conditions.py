"""Which Condition blocks narrow who a `Principal: "*"` statement lets in."""

from __future__ import annotations

from typing import Any

import pytest

from generator.model.policy_conditions import narrows_principal


@pytest.mark.parametrize("condition", [
    {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}},
    {"stringequals": {"AWS:PRINCIPALORGID": "o-abc123def4"}},
    {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-abc123def4/r-ab12/*"]}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/*"}},
    {"StringEquals": {"aws:SourceAccount": "111122223333"}},
    {"ArnEquals": {"aws:SourceArn": "arn:aws:codebuild:eu-west-1:111122223333:project/x"}},
    {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
    {"StringEquals": {"aws:SourceVpc": "vpc-1a2b3c4d"}},
    {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    {"StringEquals": {"aws:PrincipalAccount": ["111122223333", "444455556666"]}},
    {"StringEquals": {"aws:PrincipalServiceName": "codebuild.amazonaws.com"}},
    {"Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}},
    {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrgId"}}},  # cannot be judged before deploy
    # Wildcards that leave some organizations, accounts or ARNs out.
    {"StringLike": {"aws:PrincipalOrgID": "o-abc123def4"}},
    {"StringLike": {"aws:PrincipalOrgID": "o-abc*"}},
    {"StringLike": {"aws:PrincipalAccount": "1111222233??"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/*"}},
    {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::1111*"}},
    {"ArnEquals": {"aws:SourceArn": "arn:aws:lambda:*:111122223333:function:*"}},
    {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::${AWS::AccountId}:role/*"}},
    {"StringEquals": {"aws:PrincipalOrgID": "o-*"}},  # no wildcard under StringEquals: admits nobody
    {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    {"Fn::If": ["Cond", {}, {}]},
])
def test_conditions_on_who_narrow(condition: Any) -> None:
    assert narrows_principal(condition)


@pytest.mark.parametrize("condition", [
    None,
    {},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
    {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
    {"ArnLikeIfExists": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/*"}},
    {"StringNotEquals": {"aws:PrincipalAccount": "111122223333"}},
    {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    {"Null": {"aws:PrincipalOrgID": "false"}},
    {"ForAllValues:StringLike": {"aws:PrincipalOrgPaths": "o-abc123def4/*"}},
    {"StringLike": {"aws:PrincipalArn": "*"}},
    {"StringEquals": {"aws:PrincipalOrgID": ["o-abc123def4", "*"]}},
    {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}},
    {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "10.0.0.0/0"]}},
    # Wildcards that every organization, account or ARN matches: not a condition on who.
    {"StringLike": {"aws:PrincipalOrgID": "o-*"}},
    {"StringLike": {"aws:PrincipalOrgID": "o-??????????*"}},
    {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-*/*"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/deployer"}},  # any account can make one
    {"StringLike": {"aws:PrincipalArn": "arn:*"}},
    {"ArnEquals": {"aws:SourceArn": "arn:aws:lambda:us-east-1:????????????:function:*"}},
    {"StringLike": {"aws:PrincipalAccount": "????????????"}},
    {"StringLike": {"aws:SourceAccount": ["111122223333", "*"]}},
    {"StringLike": {"aws:SourceVpce": "vpce-*"}},
])
def test_conditions_that_leave_every_caller_in_do_not_narrow(condition: Any) -> None:
    assert not narrows_principal(condition)
