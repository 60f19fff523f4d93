"""The ``wdh-migrate`` command, as installed by the package: the same CLI
as the Rust binary, run in this process."""

import signal
import sys
from typing import List, Optional

from wdh_migrate._native import cli_main


def main(argv: Optional[List[str]] = None) -> int:
    """Runs ``wdh-migrate`` with ``argv`` (default: this process's arguments)
    and exits with its exit code when called as the console script."""
    # Ctrl-C stops the command as it stops the binary, instead of waiting for
    # the native code to return to the interpreter.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    args = list(sys.argv if argv is None else argv)
    if args:
        args[0] = "wdh-migrate"
    else:
        args = ["wdh-migrate"]
    sys.stdout.flush()
    sys.stderr.flush()
    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
