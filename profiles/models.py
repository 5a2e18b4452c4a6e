"""Models of profiles: Profile, ProjectMapping (+ rules, inheritance from the default mapping), catch addresses,
filters, directives/aliases, attachment exclusions; JSON export/import.
"""
