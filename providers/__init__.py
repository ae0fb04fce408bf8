"""Flickr/Instagram providers; built with their issue."""
