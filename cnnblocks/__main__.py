"""`python -m cnnblocks ...`: the `cnnblocks` command."""

import sys

from cnnblocks_cli import main

sys.exit(main())
