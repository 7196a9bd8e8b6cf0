"""Lifecycle policies: the rule model (`policy`), reading it (`reading`), its documented
constraints (`constraints`), image lists (`images`) and ECR's evaluation of a policy against
images (`evaluate`)."""

from generator.model.lifecycle.constraints import validate
from generator.model.lifecycle.evaluate import Decision, Evaluation, evaluate
from generator.model.lifecycle.images import Image, load_images, parse_images, parse_timestamp
from generator.model.lifecycle.policy import Policy, PolicyError, PolicyProblem, Rule
from generator.model.lifecycle.reading import parse, parse_text

__all__ = ["Decision", "Evaluation", "Image", "Policy", "PolicyError", "PolicyProblem", "Rule",
           "evaluate", "load_images", "parse", "parse_images", "parse_text", "parse_timestamp",
           "validate"]
