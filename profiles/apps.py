from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ProfilesConfig(AppConfig):
    """Profile, ProjectMapping (+ rules, inheritance from the default mapping), catch addresses, filters,
    directives/aliases, attachment exclusions; JSON export/import.
    """

    name = "profiles"
    verbose_name = "Profiles"

    def ready(self) -> None:
        # Imported here, not at the top: the services module imports this app's models, which cannot be imported
        # before the app registry is ready.
        from profiles.services import forget_cached_profiles

        post_save.connect(forget_cached_profiles, dispatch_uid="profiles.services.forget_cached_profiles.save")
        post_delete.connect(forget_cached_profiles, dispatch_uid="profiles.services.forget_cached_profiles.delete")
