"""Image conversions; built with their issue."""
