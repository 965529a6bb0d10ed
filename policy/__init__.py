"""policycheck: a license-and-compliance policy engine for machine-learning models."""

from policy import regexcache

__version__ = "0.1.0"

regexcache.prime()  # before any module of the package imports yaml (see regexcache.py)
