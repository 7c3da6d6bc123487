import sys

from openai_magics.cli import main

sys.exit(main())
