"""Face tracking: which person each face of a frame is, and that person's emotion over time.

Split as norfair splits a tracker from its distances and filters (docs/TRACKING.md has the method
and the benchmark that chose it):

    appearance.py  a face crop's appearance vector (the classifier computes it, the tracker compares)
    smoothing.py   one person's emotion over time: a time-based average with hysteresis
    config.py      TrackerConfig, from the settings
    tracker.py     PersonTracker: norfair's Kalman tracker, re-identification by appearance

Import from the modules themselves: the classifier needs appearance.py alone, and its image has
neither norfair nor scipy, which tracker.py imports.
"""
