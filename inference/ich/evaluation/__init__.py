"""Evaluation of the hemorrhage model: metrics with bootstrap intervals, ROC plots, reports."""
