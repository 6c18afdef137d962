"""Renderers: pure functions of a Report (or of the check list) that return text. They never collect."""
