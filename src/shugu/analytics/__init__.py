"""KPIs from machine data: facts per device and hour, rolled up over hierarchy and calendar."""
