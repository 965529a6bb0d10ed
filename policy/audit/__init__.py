"""The descendant (model-tree) audit: state.py (SQLite resume state); tree.py (listing -> engine -> rows) later."""
