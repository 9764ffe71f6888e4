"""Lab 01: identity, tokens and policy (labs/01-identity.md).

What the steps leave behind: a project lab1 with a user student1 who is a
member there and has logged in; no identity policy file left over from step
4; since lab1 was made, one of demo's tokens revoked and an application
credential ci-reader made and deleted again (identity's events say so).
"""
from __future__ import annotations

from pocketstack.cloud import Cloud
from pocketstack.lab import cleanup, host
from pocketstack.lab.base import Lab, LabContext, NotYet, Requirement

PROJECT = "lab1"
STUDENT = "student1"
CREDENTIAL = "ci-reader"
POLICY_FILE = "identity-policy.yaml"
LAB_RULE = "identity:list_users"


def one(cloud: Cloud, collection: str, name: str) -> dict:
    found = cloud.get("identity", f"/v3/{collection}", name=name).json()[collection]
    if not found:
        raise NotYet(f"no {collection[:-1]} {name}")
    return found[0]


def identity_events(context: LabContext, event_type: str) -> list[dict]:
    return host.events(context.admin, "identity", type=event_type)


def lab_started(context: LabContext) -> str:
    """When lab1 was made (step 3): later steps' events must be newer."""
    project = one(context.admin, "projects", PROJECT)
    made = [event for event in identity_events(context, "identity.project.created")
            if event["resource_id"] == project["id"]]
    return made[0]["timestamp"] if made else ""


def student_is_member(context: LabContext) -> None:
    project = one(context.admin, "projects", PROJECT)
    student = one(context.admin, "users", STUDENT)
    roles = context.admin.get("identity", "/v3/role_assignments", include_names="1", **{
        "user.id": student["id"], "scope.project.id": project["id"]}).json()["role_assignments"]
    if "member" not in {assignment["role"]["name"] for assignment in roles}:
        raise NotYet(f"{STUDENT}'s roles on {PROJECT}: "
                     f"{sorted(a['role']['name'] for a in roles) or 'none'}")


def student_logged_in(context: LabContext) -> None:
    student = one(context.admin, "users", STUDENT)
    outcomes = {event["payload"].get("outcome")
                for event in identity_events(context, "identity.authenticate")
                if event["resource_id"] == student["id"]}
    if "success" not in outcomes:
        raise NotYet(f"no successful login of {STUDENT} "
                     f"({'only failed ones' if outcomes else 'no attempt'})")


def policy_file_removed(context: LabContext) -> None:
    path = context.state.etc / POLICY_FILE
    if path.exists() and LAB_RULE in path.read_text():
        raise NotYet(f"{POLICY_FILE} still overrides {LAB_RULE}")


def demo_user(context: LabContext) -> dict:
    return one(context.admin, "users", "demo")


def token_revoked(context: LabContext) -> None:
    started, demo = lab_started(context), demo_user(context)
    if not [event for event in identity_events(context, "identity.token.revoked")
            if event["payload"].get("user_id") == demo["id"]
            and event["timestamp"] >= started]:
        raise NotYet("no token of demo revoked since lab1 was made")


def credential_used_and_deleted(context: LabContext) -> None:
    started, demo = lab_started(context), demo_user(context)
    for what in ("created", "deleted"):
        if not [event for event in
                identity_events(context, f"identity.application_credential.{what}")
                if event["payload"].get("name") == CREDENTIAL
                and event["payload"].get("user_id") == demo["id"]
                and event["timestamp"] >= started]:
            raise NotYet(f"{CREDENTIAL} was not {what} since lab1 was made")
    if demo_credentials(context):
        raise NotYet(f"demo still has an application credential {CREDENTIAL}")


def demo_credentials(context: LabContext) -> list[dict]:
    path = f"/v3/users/{demo_user(context)['id']}/application_credentials"
    return [credential for credential in
            context.admin.get("identity", path).json()["application_credentials"]
            if credential["name"] == CREDENTIAL]


class Identity(Lab):
    number = 1
    title = "identity, tokens and policy"
    text = "01-identity.md"

    def requirements(self) -> list[Requirement]:
        return [
            Requirement(f"{STUDENT} is a member of project {PROJECT}", student_is_member,
                        f"step 3: project create {PROJECT}, user create ... {STUDENT}, "
                        f"role add --project {PROJECT} --user {STUDENT} member"),
            Requirement(f"{STUDENT} logged in", student_logged_in,
                        f"step 3: OS_PASSWORD=... openstack --os-username {STUDENT} "
                        f"--os-project-name {PROJECT} token issue"),
            Requirement("the policy file of step 4 is removed", policy_file_removed,
                        f"step 4: rm $POCKETSTACK_STATE_DIR/etc/{POLICY_FILE}"),
            Requirement("a token of demo was revoked", token_revoked,
                        "step 6: openstack token revoke $T"),
            Requirement(f"an application credential {CREDENTIAL} was made, then deleted",
                        credential_used_and_deleted,
                        f"step 7: application credential create ... {CREDENTIAL}, "
                        f"then application credential delete {CREDENTIAL}"),
        ]

    def reset(self, context: LabContext) -> list[str]:
        undone = []
        path = context.state.etc / POLICY_FILE
        if path.exists() and LAB_RULE in path.read_text():
            path.unlink()
            undone.append(f"policy file {POLICY_FILE}")
        for credential in demo_credentials(context):
            context.admin.delete("identity", f"/v3/users/{credential['user_id']}"
                                             f"/application_credentials/{credential['id']}")
            undone.append(f"application credential {CREDENTIAL}")
        return (undone + cleanup.delete_users(context.admin, [STUDENT])
                + cleanup.delete_projects(context.admin, [PROJECT]))


LAB = Identity()
