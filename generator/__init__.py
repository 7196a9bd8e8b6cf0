"""ecrgen: Amazon ECR repositories from one declarative file."""

__version__ = "0.1.0"
