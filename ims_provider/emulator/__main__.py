"""`python -m ims_provider.emulator` runs the console script."""

import sys

from ims_provider.emulator.cli import main

sys.exit(main())
