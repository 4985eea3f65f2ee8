"""Start pages, navigation and error pages."""
