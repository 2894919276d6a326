import signal
import sys

from bench.run import main

# SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so that each section
# stops the services it started: otherwise the emulator, the web server and
# the workers outlive the run, holding ports and CPU the next run needs.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
sys.exit(main())
