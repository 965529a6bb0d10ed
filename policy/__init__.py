"""policycheck: a license-and-compliance policy engine for machine-learning models."""

__version__ = "0.1.0"
