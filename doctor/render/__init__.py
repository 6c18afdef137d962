"""Renderers: pure functions of a Report (doctor.report) that return text. They observe, never collect: they import
the report model, findings and pure data only (tests/test_layers.py holds them to it)."""
