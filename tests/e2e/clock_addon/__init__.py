"""Loads first (add-ons load in folder-name order): the driver add-on, loading last, measures from here."""

import time

LOADED_AT = time.perf_counter()
