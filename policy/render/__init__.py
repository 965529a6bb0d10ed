"""Renderers: pure functions from reports to text or bytes."""
