import sys

from arinsight.cli import main

sys.exit(main())
