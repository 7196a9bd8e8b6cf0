"""Client settings that follow the AWS conventions: AWS_MAX_ATTEMPTS bounds botocore's retries."""

from __future__ import annotations

import pytest

from generator.aws.client import MAX_ATTEMPTS, make_client
from generator.base.errors import InputError


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(("value", "attempts"), [(None, MAX_ATTEMPTS), ("3", 3), (" 1 ", 1)])
def test_aws_max_attempts_sets_the_retries(monkeypatch: pytest.MonkeyPatch, value: str | None,
                                           attempts: int) -> None:
    if value is None:
        monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    else:
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", value)
    assert make_client("ecr").meta.config.retries["total_max_attempts"] == attempts


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("value", ["0", "ten", "-1", "2.5"])
def test_a_wrong_aws_max_attempts_is_bad_input(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", value)
    with pytest.raises(InputError, match=rf"AWS_MAX_ATTEMPTS: must be a whole number of at least 1, got '{value}'"):
        make_client("ecr")
