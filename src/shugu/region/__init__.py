"""The district bureau's own system (区工信局): enterprise files, tiers, monthly operation,
appeals, projects, policies, indicators and targets, fed by what the platform measures."""
