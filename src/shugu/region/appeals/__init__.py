"""Enterprise appeals (企业诉求): problems enterprises bring to the bureau, assigned to a
department, answered, closed and rated; how fast, per category and department."""
