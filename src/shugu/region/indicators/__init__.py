"""Indicators and targets (指标与目标): the district's indicator register, values by month and
year (computed live by shugu, or reported by the bureau), yearly targets and how far each has
come."""
