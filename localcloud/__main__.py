"""`python -m localcloud`: deploy an app to the local cloud and destroy it (see `localcloud`)."""

import sys

from localcloud import main

sys.exit(main())
