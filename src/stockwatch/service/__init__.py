"""The use cases, each written once over small ports; the backends are adapters of them."""
