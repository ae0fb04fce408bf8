"""Developer portal; built with its issue."""
