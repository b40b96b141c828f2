import sys

from midway.cli import main

sys.exit(main())
