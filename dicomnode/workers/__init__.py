"""Workers: processes that claim jobs and run the analysis step.

:mod:`.step` is the boundary the model, reports and delivery plug into; :mod:`.worker` the claim loop with
its heartbeat; :mod:`.pool` the worker processes ``dicomnode serve`` starts and stops.
"""
