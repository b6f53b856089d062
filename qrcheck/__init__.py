"""qrcheck: the quasirandom properties (19)-(30) of Razborov's "Improved Convergence
Guarantees for Shallow Neural Networks", checked on actual numbers."""

__version__ = "0.1.0"


class InputError(ValueError):
    """Bad input or usage; the CLI prints its message as one line and exits with 2."""
