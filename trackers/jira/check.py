"""What works and what does not between an instance and its Jira site, in plain words with what to do.

:func:`check_connection`: reachable (``/serverInfo``), deployment type and version, authenticated as whom
(``/myself``), may browse users (the global permission), and for each project the instance's mappings name:
visible, may create issues, add comments and attachments (``/mypermissions?projectKey=&permissions=``).
:func:`check_fields` and :func:`create_fields`: the custom fields the mail handler uses (Email Sender Address,
Email Sender Name, Email Participants and any mapping's foreign-key field), created through ``POST /field``.

Each runs on a client of its own with short timeouts, never the pooled one processing uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jemh.models import Instance, JiraDeployment
from trackers import errors
from trackers.jira import credentials_of
from trackers.jira.client import JiraClient
from trackers.jira.errors import JiraAuthError
from trackers.jira.fields import EMAIL_PARTICIPANTS, EMAIL_SENDER_ADDRESS, EMAIL_SENDER_NAME, forget

CUSTOM_TYPE = "com.atlassian.jira.plugin.system.customfieldtypes:"
#: the custom fields the mail handler writes, and their kind (a single-line text field or a paragraph)
HANDLER_FIELDS = {EMAIL_SENDER_ADDRESS: "textfield", EMAIL_SENDER_NAME: "textfield", EMAIL_PARTICIPANTS: "textarea"}
#: project permissions the mail handler needs, in words (Jira's permission names in the permission scheme)
PROJECT_PERMISSIONS = {
    "CREATE_ISSUES": ("create issues", "Create Issues"),
    "ADD_COMMENTS": ("add comments", "Add Comments"),
    "CREATE_ATTACHMENTS": ("add attachments", "Create Attachments"),
}


@dataclass(frozen=True)
class Finding:
    """One thing checked: whether it works, what was found, and (when it does not work) what to do."""

    ok: bool
    text: str
    advice: str = ""

    def line(self) -> str:
        if self.ok:
            return f"ok: {self.text}"
        return f"PROBLEM: {self.text}" + (f" What to do: {self.advice}" if self.advice else "")


@dataclass
class Report:
    """The findings of a check, in the order they were made."""

    title: str
    findings: list[Finding] = field(default_factory=list)
    #: check_fields: the custom fields that are missing, with their kind ("textfield", "textarea")
    missing: dict[str, str] = field(default_factory=dict)
    #: check_connection: whether Jira accepted the credentials
    authenticated: bool = False

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    def add(self, ok: bool, text: str, advice: str = "") -> None:
        self.findings.append(Finding(ok, text, advice))

    def lines(self) -> list[str]:
        return [self.title, *(f"  {f.line()}" for f in self.findings)]


def _client(instance: Instance) -> JiraClient:
    client = JiraClient(instance.base_url, credentials_of(instance), timeout=15.0, connect_timeout=5.0)
    client.max_retries = 0  # a check says what it found; it does not wait out rate limits
    return client


def _cloud(instance: Instance) -> bool:
    return instance.jira_deployment != JiraDeployment.DATA_CENTER


def _credential_advice(instance: Instance) -> str:
    if _cloud(instance):
        return (
            "create a new API token for the account at https://id.atlassian.com/manage-profile/security/api-tokens "
            "and enter it, with that account's e-mail address, in the instance's Jira connection"
        )
    return (
        "create a personal access token in Jira (your profile → Personal Access Tokens) and enter it in the "
        "instance's Jira connection (a password is not a personal access token)"
    )


def _configured(instance: Instance, report: Report) -> bool:
    if not instance.base_url:
        report.add(
            False, "the instance has no base URL.", "enter the Jira site's address (e.g. https://acme.atlassian.net)."
        )
        return False
    if not instance.jira_credentials_set:
        report.add(False, "the instance's Jira credentials are not set.", _credential_advice(instance))
        return False
    return True


def _who(me: Mapping[str, Any], cloud: bool) -> str:
    name = str(me.get("displayName") or "")
    ident = str(me.get("emailAddress") or (me.get("accountId") if cloud else me.get("name")) or "")
    return f"{name} ({ident})" if name and ident else name or ident or "an unnamed account"


def _permissions(client: JiraClient, keys: Sequence[str], project: str = "") -> dict[str, bool]:
    params = {"permissions": ",".join(keys)}
    if project:
        params["projectKey"] = project
    body = client.get("mypermissions", params=params, what=f"permissions in {project or 'Jira'}")
    found = body.get("permissions") or {}
    return {key: bool((found.get(key) or {}).get("havePermission")) for key in keys}


def _other_api_server_info(client: JiraClient) -> dict[str, Any] | None:
    """serverInfo from the other REST version (Data Center serves only v2): a site set up as the wrong deployment
    answers there, so the check can say which deployment it is."""
    other = "/rest/api/2" if client.api.endswith("3") else "/rest/api/3"
    try:
        return dict(client.get(f"{other}/serverInfo", absolute=True))
    except errors.TrackerError:
        return None


def check_connection(instance: Instance, projects: Mapping[str, Sequence[str]]) -> Report:
    """Check the instance's Jira connection and, for each project key (with where it is named), what the account
    may do there. Never raises for what Jira answers: every answer becomes a finding."""
    report = Report(f"Jira connection of {instance.name}:")
    if not _configured(instance, report):
        return report
    client = _client(instance)
    try:
        _check(instance, client, projects, report)
    finally:
        client.close()
    return report


def _check(instance: Instance, client: JiraClient, projects: Mapping[str, Sequence[str]], report: Report) -> None:
    cloud = _cloud(instance)
    info: dict[str, Any] | None = {}
    try:
        info = client.get("serverInfo")
    except errors.TemporaryTrackerError as exc:
        report.add(
            False,
            f"{instance.base_url} is not reachable ({exc}).",
            "check the base URL and that this server can reach it (DNS, proxy, firewall); then check again.",
        )
        return
    except errors.NotFound:
        info = _other_api_server_info(client)
    except JiraAuthError:
        pass  # some sites refuse serverInfo to wrong credentials: /myself below says so
    except errors.TrackerError as exc:
        report.add(False, f"{instance.base_url} answered serverInfo with an error: {exc}.", "check the base URL.")
        return
    if info is None:
        report.add(
            False,
            f"{instance.base_url} answers, but not as Jira (no {client.api}/serverInfo).",
            "enter the Jira site's own address as the base URL (for Data Center including its context path, "
            "e.g. https://jira.example.com/jira).",
        )
        return
    report.add(True, f"{instance.base_url} is reachable.")
    if info:
        deployment = str(info.get("deploymentType") or "")
        version = str(info.get("version") or "?")
        site_cloud = deployment == "Cloud"
        kind = "Jira Cloud" if site_cloud else f"Jira Data Center/Server ({deployment or 'type not given'})"
        if site_cloud == cloud:
            report.add(True, f"the site is {kind}, version {version}.")
        else:
            wanted = JiraDeployment.CLOUD.label if site_cloud else JiraDeployment.DATA_CENTER.label
            report.add(
                False,
                f"the site is {kind}, version {version}, but the instance is set up for "
                f"{'Jira Cloud' if cloud else 'Jira Data Center'}.",
                f"set the instance's Jira deployment to {wanted!r} and enter the credentials that deployment uses.",
            )
            return
    try:
        me = client.get("myself")
    except JiraAuthError as exc:
        what = "account e-mail and API token" if cloud else "personal access token"
        report.add(False, f"Jira did not accept the instance's {what} ({exc.status}).", _credential_advice(instance))
        return
    except errors.TrackerError as exc:
        report.add(False, f"Jira answered /myself with an error: {exc}.", "check the base URL and the credentials.")
        return
    report.add(True, f"authenticated as {_who(me, cloud)}.")
    report.authenticated = True
    if not me.get("active", True):
        report.add(False, "that account is inactive.", "activate the account in Jira's user management.")
    try:
        may_browse_users = _permissions(client, ["USER_PICKER"])["USER_PICKER"]
    except errors.TrackerError as exc:
        report.add(False, f"could not read the account's global permissions: {exc}.")
    else:
        if may_browse_users:
            report.add(True, "may browse users (senders with a Jira account are recognised).")
        else:
            report.add(
                False,
                "may not browse users: every sender would count as e-mail-only.",
                "grant the account the global permission 'Browse users and groups' "
                + (
                    "(Settings → System → Global permissions)."
                    if cloud
                    else "(Administration → System → Global permissions)."
                ),
            )
    if not projects:
        report.add(True, "no enabled profile's mapping names a project yet: no project to check.")
    for key, named_by in projects.items():
        _check_project(client, key, named_by, report)


def _check_project(client: JiraClient, key: str, named_by: Sequence[str], report: Report) -> None:
    where = f" (named by {'; '.join(named_by)})" if named_by else ""
    try:
        project = client.get(f"project/{key}", not_found=errors.ProjectNotFound)
    except errors.ProjectNotFound:
        report.add(
            False,
            f"project {key}{where} is not visible: it does not exist, or the account may not browse it.",
            f"check the project key in the mapping, or grant the account 'Browse Projects' in project {key}'s "
            "permission scheme (Project settings → Permissions).",
        )
        return
    except errors.TrackerError as exc:
        report.add(False, f"project {key}{where}: Jira answered with an error: {exc}.")
        return
    try:
        allowed = _permissions(client, list(PROJECT_PERMISSIONS), key)
    except errors.TrackerError as exc:
        report.add(False, f"project {key}: could not read the account's permissions there: {exc}.")
        return
    may = [PROJECT_PERMISSIONS[p][0] for p, yes in allowed.items() if yes]
    report.add(
        True, f"project {key} ({project.get('name', '')}) is visible" + (f"; may {', '.join(may)}." if may else ".")
    )
    for permission, yes in allowed.items():
        if not yes:
            words, name = PROJECT_PERMISSIONS[permission]
            report.add(
                False,
                f"project {key}: may not {words}.",
                f"grant the account '{name}' in project {key}'s permission scheme (Project settings → Permissions).",
            )


# -- custom fields -------------------------------------------------------------------------------------------------


def needed_fields(foreign_key_fields: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, str]]:
    """The custom fields the handler uses: name → (kind, what uses it)."""
    needed = {name: (kind, "the mail handler's e-mail fields") for name, kind in HANDLER_FIELDS.items()}
    for name, where in foreign_key_fields.items():
        needed.setdefault(name, ("textfield", f"the foreign key of {'; '.join(where)}"))
    return needed


def _run(instance: Instance, title: str, work: Callable[[JiraClient, Report], None]) -> Report:
    report = Report(title)
    if not _configured(instance, report):
        return report
    client = _client(instance)
    try:
        work(client, report)
    except JiraAuthError as exc:
        report.add(False, f"Jira refused the request ({exc.status}): {exc}", _credential_advice(instance))
    except errors.TrackerError as exc:
        report.add(False, f"Jira answered with an error: {exc}")
    finally:
        client.close()
    return report


def check_fields(instance: Instance, foreign_key_fields: Mapping[str, Sequence[str]]) -> Report:
    """Which of the custom fields the handler uses exist in Jira (``missing`` lists the others)."""

    def work(client: JiraClient, report: Report) -> None:
        existing = {str(f["name"]).casefold(): f for f in client.get("field") if f.get("custom")}
        for name, (kind, used_by) in needed_fields(foreign_key_fields).items():
            found = existing.get(name.casefold())
            if found is not None:
                report.add(True, f"custom field {name!r} exists ({found['id']}).")
            else:
                report.missing[name] = kind
                report.add(
                    False,
                    f"custom field {name!r} (used by {used_by}) does not exist in Jira.",
                    "create it with the 'create missing fields' action (or `jemh jira fields --create`), or by "
                    f"hand as a {_kind_words(kind)} named exactly {name!r}.",
                )

    return _run(instance, f"Custom fields of {instance.name}:", work)


def _kind_words(kind: str) -> str:
    return "paragraph (multi-line text) field" if kind == "textarea" else "single-line text field"


def create_fields(instance: Instance, missing: Mapping[str, str]) -> Report:
    """Create the given custom fields (name → kind) through ``POST /field``; then they must be put on the projects'
    screens, which the report says."""

    def work(client: JiraClient, report: Report) -> None:
        for name, kind in missing.items():
            body = {
                "name": name,
                "description": "Kept by the mail handler (created by it).",
                "type": CUSTOM_TYPE + kind,
                "searcherKey": CUSTOM_TYPE + "textsearcher",
            }
            try:
                created = client.request("POST", "field", json=body, what=f"create custom field {name!r}").json()
            except JiraAuthError as exc:
                report.add(
                    False,
                    f"could not create custom field {name!r}: Jira refused ({exc.status}); creating fields needs "
                    "the 'Administer Jira' global permission.",
                    f"create it by hand as a {_kind_words(kind)} named exactly {name!r}, or run this with a Jira "
                    "administrator's credentials.",
                )
                continue
            except errors.InvalidFieldValue as exc:
                report.add(False, f"could not create custom field {name!r}: {exc}")
                continue
            report.add(
                True,
                f"created custom field {name!r} ({created.get('id')}, a {_kind_words(kind)}); put it on the create "
                "and edit screens of the projects the mappings use.",
            )
        forget(instance.base_url)

    return _run(instance, f"Creating custom fields in {instance.name}:", work)
