"""Presentation helpers below ``experiments`` and ``report``: one number formatter and the Jinja2
templates every HTML fragment of the page is rendered from (autoescaped)."""
