"""`python -m localcloud`: deploy an app to the local cloud and destroy it (see `localcloud`)."""

import sys

from localcloud.command import main

sys.exit(main())
