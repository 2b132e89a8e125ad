"""Helpers every pipeline's result writers share, so that two analyses of one study never collide.

:mod:`~dicomnode.results.uids` (deterministic UIDs), :mod:`~dicomnode.results.times` (the job's time in
every object), :mod:`~dicomnode.results.sources` (type 2 copies, de-identification carry-over). Each
pipeline's Series Numbers are its own (``Pipeline.series_numbers``; a test checks they are disjoint).
"""
