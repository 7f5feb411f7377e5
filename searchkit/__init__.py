"""searchkit: ranked passage search for markdown note vaults."""

__version__ = "0.1.0"
