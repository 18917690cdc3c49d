"""A module of sampler_export.py's: frames from a file other than __main__,
named by module in the liveprofiler and nylas exports."""
import time


def helper_spin(seconds):
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1                                  # MARK:helper-loop
    return n
