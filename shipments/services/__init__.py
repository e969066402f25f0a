"""Write use cases of the shipments module, one module per area."""
