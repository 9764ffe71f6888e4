"""imaged's policy rules, under Glance's names and with Glance's defaults
(the "new RBAC" ones enforced since 2023.1), so that a Glance policy file
reads the same here. Differences, on purpose: deactivate and reactivate are
admin-only, as the Glance API reference documents them (Glance's code lets
project members do it); get/download rely on imaged's visibility check
first (an image a project may not see is 404 before any rule is asked).

Targets: "project_id" is the image's owner (so "rule:project_member" means
"a member of the owning project"), "visibility" the image's visibility and,
for member calls, "member_id" the member project.
"""
from shared.policy import RuleDefault

ADMIN = "rule:admin_required"
ADMIN_OR_MEMBER = "rule:admin_or_member"
READER = "rule:admin_required or role:reader"


def _rule(name: str, default: str, description: str) -> RuleDefault:
    return RuleDefault(name, default, description)


RULES = [
    _rule("get_image", READER, "Show an image the caller can see."),
    _rule("get_images", READER, "List images."),
    _rule("add_image", ADMIN_OR_MEMBER, "Create an image owned by the caller's project."),
    _rule("modify_image", ADMIN_OR_MEMBER, "Change an image of the caller's project."),
    _rule("delete_image", ADMIN_OR_MEMBER, "Delete an image of the caller's project."),
    _rule("upload_image", ADMIN_OR_MEMBER, "Upload data to an image of the caller's project."),
    _rule("download_image", READER, "Download the data of an image the caller can see."),
    _rule("publicize_image", ADMIN, "Make an image public (visible to every project)."),
    _rule("communitize_image", ADMIN_OR_MEMBER, "Make an image community (listed on request "
          "to every project)."),
    _rule("deactivate", ADMIN, "Deactivate an image (its data can no longer be "
          "downloaded by non-admins)."),
    _rule("reactivate", ADMIN, "Reactivate a deactivated image."),
    _rule("get_member", READER, "Show one member of an image."),
    _rule("get_members", READER, "List the members of an image."),
    _rule("add_member", ADMIN_OR_MEMBER, "Share an image of the caller's project."),
    _rule("delete_member", ADMIN_OR_MEMBER, "Stop sharing an image with a project."),
    _rule("modify_member", "rule:admin_required or (role:member and "
          "project_id:%(member_id)s)", "Accept or reject an image shared with the "
          "caller's project (the member answers, not the owner)."),
    _rule("get_image_location", ADMIN_OR_MEMBER, "See an image's locations."),
    _rule("set_image_location", ADMIN_OR_MEMBER, "Add a location to an image."),
    _rule("delete_image_location", ADMIN, "Remove a location of an image."),
]

# Interoperable import and tasks (imaged/imports/, api/imports.py, api/tasks.py).
# Glance's names and defaults: staging uses upload_image (above); tasks are
# readable by the owning project's readers; copy-image is admin-only.
RULES += [
    _rule("import_image", ADMIN_OR_MEMBER, "Import data into an image of the caller's "
          "project (glance-direct, web-download)."),
    _rule("copy_image", ADMIN, "Copy an active image's data to other stores."),
    _rule("get_task", READER, "Show an import task of the caller's project."),
    _rule("get_tasks", READER, "List the import tasks of the caller's project."),
]
