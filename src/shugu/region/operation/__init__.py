"""Monthly operation (经济运行监测): enterprises' monthly reports reviewed by their park and then
the bureau, reported figures beside what the platform meters, deadlines and reminders, early
warnings as rules, the key-enterprise watch list and the district's monthly report."""
