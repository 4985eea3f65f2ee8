"""Survey statistics core: πps sampling and design-based estimation (pure numpy)."""
