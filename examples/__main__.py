"""`python -m examples` serves the example service (same as `python -m examples.service`)."""

from examples.service import main

main()
