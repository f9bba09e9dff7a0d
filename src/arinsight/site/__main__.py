import sys

from arinsight.errors import UserError
from arinsight.site import main

try:
    sys.exit(main())
except UserError as exc:
    print(f"arinsight.site: {exc}", file=sys.stderr)
    sys.exit(2)
