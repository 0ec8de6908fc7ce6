"""Naive baselines: ViCo (Random, Simulation, Simulation*, Mirroring) and REACT (GT, Random, Mime,
MeanSeq, MeanFr)."""
