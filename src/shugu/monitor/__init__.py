"""Monitor room: rules → alarms → notifications; inspection rounds and their reports."""
