"""stockwatch: inventory files in, versioned stock levels and out-of-stock alerts out."""

__version__ = "0.2.0"
