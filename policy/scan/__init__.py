"""Scanners: the only part of policycheck that does I/O. They turn targets into `ModelFacts` and lineage."""
