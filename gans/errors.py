"""The one error type a user sees for a bad configuration."""


class ConfigError(ValueError):
    """A configuration value that cannot work; the message names the key and the allowed values."""
