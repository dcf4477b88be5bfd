#!/usr/bin/env python3
"""Runs the Python binding tests (unittest, stdlib only) and prints "N passed, M failed".

    PYTHONPATH=target/bindings/python python3 bindings/uniffi/tests/run.py
"""

import os
import sys
import unittest

suite = unittest.defaultTestLoader.discover(os.path.dirname(os.path.abspath(__file__)))
result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
print(f"{result.testsRun - bad - len(result.skipped)} passed, {bad} failed")
sys.exit(0 if bad == 0 and result.testsRun > 0 else 1)
