import sys

from naapgnn.cli import main

sys.exit(main())
