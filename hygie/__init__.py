"""Hygie: a secure vault for the patient data of independent health practitioners."""

__version__ = "0.1.0"
