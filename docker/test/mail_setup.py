"""docker/test.sh's configuration for its end-to-end mail check (run with `manage.py shell`): an instance with a
local-tracker project, a profile whose default mapping creates issues, and an MTA pipe source named compose-mta."""

from django.contrib.auth import get_user_model

from inbound.models import Source, SourceKind
from jemh.models import Instance
from profiles.models import CatchAddress, Profile, ProjectMapping
from trackers.models import Project

instance = Instance.objects.create(name="Compose test")
get_user_model().objects.create_user("helpdesk", "helpdesk@jemh.test")
Project.objects.create(instance=instance, key="SUP", name="Support")
profile = Profile.objects.create(instance=instance, name="Support", reply_address="support@jemh.test")
ProjectMapping.objects.create(
    profile=profile,
    name="Default",
    is_default=True,
    project_key="SUP",
    issue_type="Task",
    priority="Medium",
    default_summary="(no subject)",
    reporter_strategy="sender",
    default_reporter="helpdesk",
    assignee_strategy="unassigned",
    operating_mode="create_and_comment",
    unknown_sender_action="email_only",
    addressee_handling="participants",
)
CatchAddress.objects.create(profile=profile, address="support@jemh.test")
Source.objects.create(instance=instance, name="compose-mta", kind=SourceKind.PIPE, profile=profile)
print("mail setup done")
