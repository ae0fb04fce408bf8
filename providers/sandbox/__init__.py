"""Fake providers speaking the real wire protocols (mounted only when OPENPICKER_SANDBOX=1).

State (models, catalogue) is kept apart from the wire (views, urls), as in moto. The tables exist
on every instance so migrations do not depend on the environment; only the routes are optional.
"""
