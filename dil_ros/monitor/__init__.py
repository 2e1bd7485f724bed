"""Run-time failure monitor: per-chunk scores of how expert-like the situation is, conformal
thresholds calibrated on successful rollouts, stored next to policy.ts and bound to it by sha256.

- scores.py: the scripted scorer (denoiser error of the chunk, observation novelty) that
  ``policy.monitor.ts`` holds;
- consistency.py: disagreement of a new chunk with the previous one where they overlap;
- sibling.py: write/read ``policy.monitor.ts`` and ``policy.monitor.json`` (thresholds);
- conformal.py: threshold arithmetic; calibration.py: scores of calibration episodes.
"""
