"""`python -m cnnblocks ...`: the `cnnblocks` command."""

import sys

from cnnblocks.cli import main

sys.exit(main())
