"""Renderers: pure functions from finished data (reports, a tree audit, lint results, ...) to text or bytes,
one module per format behind one contract; `registry.py` lists every format and is the only way in."""
