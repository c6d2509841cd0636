"""``python -m mic``: the ``mic`` command."""

from mic.cli._main import main

if __name__ == "__main__":
    main()
