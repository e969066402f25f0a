"""Every write to customers and orders, one module per use case."""
