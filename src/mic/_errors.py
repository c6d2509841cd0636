"""`MicError`: the one root of every error mic raises that is not a `DomainError`."""

from __future__ import annotations


class MicError(Exception):
    """The root of mic's non-domain errors: misuse, configuration and plumbing failures.

    Domain errors (`mic.model.DomainError` and its family) are answers to a caller (a 4xx or
    503 problem); these are not, and are caught with ``except MicError``. Each also keeps the
    built-in base a caller would expect (``ImportError``, ``ValueError``, ...)::

        Exception
        ├── MicError
        │   ├── MissingDependencyError (+ ImportError)   a feature without its pip extra
        │   ├── AsyncApiError (+ ValueError)             mic.asyncapi: an invalid document
        │   ├── EventContractError (+ ValueError)        mic.eventbus: an event off its spec
        │   ├── MetricLabelViolation (+ ValueError)      mic.observability: a forbidden label
        │   ├── NoUnitOfWorkError (+ RuntimeError)       mic.outbox: a write outside one
        │   ├── OutboxPublishError                       mic.outbox: publishing failed
        │   ├── ProbeFailedError                         mic.healthcheck: a probe said no
        │   ├── CliError                                 mic.cli: an operator error, one line
        │   ├── ContractDiffError (+ ValueError)         mic.diff: a document it cannot compare
        │   ├── AuthorizationEngineError                 mic.authz: an engine could not decide
        │   ├── GrpcSpecError (+ ValueError)             mic.grpc: a service spec is wrong
        │   ├── SettingsError (+ ValueError)             mic.settings: bad settings, all listed
        │   ├── LifespanError (+ RuntimeError)           mic.testing: an app's lifespan failed
        │   ├── ConnectionClosedError                    mic.realtime: sending on a closed one
        │   ├── RealtimeClosedError                      mic.realtime: the server closed
        │   ├── RouteSpecError (+ ValueError)            mic.http: a route cannot be served
        │   ├── ClientDisconnectedError                  mic.http: the client went away
        │   └── ServiceError                             mic.service: the lifecycle
        │       ├── ServiceConfigurationError (+ ValueError)
        │       ├── ServiceStartError
        │       └── ServiceNotStartedError (+ RuntimeError)
        └── DomainError                                  mic.model: the 4xx/503 answers
            └── ... (InvalidTokenError, UpstreamServiceError, ...)
    """
