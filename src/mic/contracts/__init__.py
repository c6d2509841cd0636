"""Strict wire schemas and the success envelope shared by every mic-kit service."""

from mic.contracts._schema import HttpSuccessEnvelope, PageMeta, StrictSchema, wrap_http_success

__all__ = ["HttpSuccessEnvelope", "PageMeta", "StrictSchema", "wrap_http_success"]
