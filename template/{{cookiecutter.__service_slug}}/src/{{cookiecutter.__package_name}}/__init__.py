"""The {{ cookiecutter.__service_slug }} service: an HTTP API built on mic-kit (see README.md)."""

__version__ = "0.1.0"
