"""Series assembly: when is a series complete (:mod:`.readiness`), is it one the model reads
(:mod:`.selection`, on headers read by :mod:`.headers`), and the job that records the decision
(:mod:`.assembler`)."""
