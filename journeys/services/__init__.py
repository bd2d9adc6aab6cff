"""Every write of the journeys app, one module per area."""
