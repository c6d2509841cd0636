"""mic-kit: contracts-first, framework-agnostic building blocks for Python microservices.

The core (`mic.contracts`, `mic.model`, `mic.http`) depends on pydantic only; every other
package lives behind a pip extra and says which one when it is missing.
"""

from mic._deps import MissingDependencyError
from mic._errors import MicError

__all__ = ["MicError", "MissingDependencyError", "__version__"]

__version__ = "0.1.0.dev0"
