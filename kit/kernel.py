"""Whether the kit runs in a Jupyter kernel (checked without importing IPython)."""

import sys


def in_kernel():
    """True inside a Jupyter kernel (where displays update in place), else False.

    False in a script, a test or a worker process. Reads `sys.modules` only: a kernel has imported
    ipykernel and IPython already, and a plain script or a worker never pays for importing them.
    """
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return False
    shell = sys.modules["IPython"].get_ipython()
    return shell is not None and hasattr(shell, "kernel")
