from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    """Profile, ProjectMapping (+ rules, inheritance from the default mapping), catch addresses, filters,
    directives/aliases, attachment exclusions; JSON export/import.
    """

    name = "profiles"
    verbose_name = "Profiles"
