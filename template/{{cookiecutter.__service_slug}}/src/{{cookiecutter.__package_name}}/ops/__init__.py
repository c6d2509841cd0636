"""Operations: /health, /ready and /metrics, and the interceptors every route gets."""
