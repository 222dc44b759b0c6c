"""Portal dossiers: their lifecycle, routing, department queues and status outbox (the core)."""
