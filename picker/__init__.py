"""The core: apps, file links, storage, security policies and the file API."""
