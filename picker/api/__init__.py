"""The HTTP surface of the core (DESIGN.md §3): thin views over picker's domain functions."""
