#!/usr/bin/env python3
"""Runs a command and prints its wall time and peak RSS as JSON: measure.py CMD ARGS..."""
import json
import resource
import subprocess
import sys
import time

start = time.monotonic()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
seconds = time.monotonic() - start
rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
if proc.returncode != 0:
    sys.stderr.write(proc.stderr.decode(errors="replace"))
print(json.dumps({"seconds": round(seconds, 3), "max_rss_mb": round(rss_kb / 1024, 1), "exit": proc.returncode}))
sys.exit(proc.returncode)
