"""Organisation: units (teams) and caseworkers."""
