"""`python -m bot` is the `ticketbot` command."""

import sys

from bot.cli import main

sys.exit(main())
