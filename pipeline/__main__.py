import os
import sys

from pipeline.handover import hand_over

# Under dvc repro, the stage may run in a spare runner the stage before started (Linux).
code = hand_over(sys.argv[1:])
if code is not None:
    os._exit(code)

from pipeline.cli import main  # noqa: E402

sys.exit(main())
