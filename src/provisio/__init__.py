"""provisio: device provisioning for digital-signage and IoT fleets, with a signed event stream."""

__version__ = "0.1.0"
