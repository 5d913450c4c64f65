"""geolocator: drop photos into a folder, and each one lands on a map."""

__version__ = "0.1.0"
