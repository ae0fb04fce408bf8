"""Signed webhooks; built with their issue."""
