"""Portal views: thin (parse, scope to the user's app, call a domain function, render)."""
