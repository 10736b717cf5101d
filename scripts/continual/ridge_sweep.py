#!/usr/bin/env python3
"""RanPAC ridge sensitivity on the benchmark's cached features, with the numpy reference
(scripts/continual/head_reference.py); run scripts/continual-bench first. Prints, per sequence and
ridge: final accuracy, average incremental accuracy, forgetting (docs/continual-learning.md)."""
