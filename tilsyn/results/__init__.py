"""Results over periods: design-weighted figures per control point and theme, their changes,
the director's overview, reports and exports. Sits above ``reviews`` and ``feedback``."""
