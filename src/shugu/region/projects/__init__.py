"""The project library (项目库): projects tracked monthly through filing → permits →
construction → production → policy support, overdue detection, SME digital-transformation
projects measured before and after go-live, and the monthly summary."""
