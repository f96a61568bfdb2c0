"""`python -m explorer VERB ...`: the split-explorer command without the console script."""
import sys

from explorer.cli import main

sys.exit(main())
