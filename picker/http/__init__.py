"""HTTP plumbing every app shares: the one error mapper, the request parsers and the content
negotiation that settings install for DRF. The file API's views live in the api package."""
