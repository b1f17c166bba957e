"""The front processes of ``shugu serve --workers N`` and their channel to the main process
(decision 0056)."""
