"""Lifecycle policies: the rule model and its validation (`policy`)."""

from generator.lifecycle.policy import (
    Policy,
    PolicyError,
    PolicyProblem,
    Rule,
    parse,
    parse_text,
    validate,
)

__all__ = ["Policy", "PolicyError", "PolicyProblem", "Rule", "parse", "parse_text", "validate"]
