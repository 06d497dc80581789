"""What the crawler and the API share below both of them: the version, the fuel vocabulary
and the HTTP session to outside services. It imports neither of them."""

__version__ = "0.1.0"
