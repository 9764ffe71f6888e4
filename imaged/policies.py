"""imaged's policy rules, under Glance's names and with Glance's defaults
(the "new RBAC" ones enforced since 2023.1), so that a Glance policy file
reads the same here. deactivate and reactivate follow Glance's running code
(a member of the owning project may do them), not its API reference, which
still says admin only. Get/download rely on imaged's visibility check first
(an image a project may not see is 404 before any rule is asked).

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
    _rule("download_image", "rule:admin_required or role:member", "Download the data of an "
          "image the caller can "
          "see (Glance: a member, of the owning project or of one the image is shared "
          "with; a reader may not)."),
    _rule("publicize_image", ADMIN, "Make an image public (visible to every project)."),
    _rule("communitize_image", ADMIN_OR_MEMBER, "Make an image community (listed on request "
          "to every project)."),
    _rule("deactivate", ADMIN_OR_MEMBER, "Deactivate an image of the caller's project (its "
          "data can no longer be downloaded by non-admins)."),
    _rule("reactivate", ADMIN_OR_MEMBER, "Reactivate a deactivated image of the caller's "
          "project."),
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
    _rule("tasks_api_access", ADMIN, "Use /v2/tasks at all (Glance: admin only; a project "
          "reads its images' tasks at /v2/images/{image_id}/tasks)."),
    _rule("get_task", READER, "Show an import task of the caller's project."),
    _rule("get_tasks", READER, "List the import tasks of the caller's project."),
]

# The "new location APIs" of Image API 2.17 (api/locations.py). Glance's
# defaults: a location may be added by a service (Nova, Cinder: their own
# token, or the user's token with theirs in X-Service-Token) or by a member
# of the owning project; the list of locations is for services only.
SERVICE = "rule:service_role or service_roles:service"
RULES += [
    _rule("add_image_location", f"{SERVICE} or rule:project_member", "Add the location of "
          "a queued image's data (POST /v2/images/{image_id}/locations)."),
    _rule("fetch_image_location", f"{SERVICE} or rule:admin_required", "List an image's "
          "locations (GET /v2/images/{image_id}/locations); Glance lets admins too."),
]

# The image cache API (api/cache.py, imaged/cache/): admin only, as Glance.
RULES += [
    _rule("cache_list", ADMIN, "List the cached and queued images (GET /v2/cache)."),
    _rule("cache_image", ADMIN, "Queue an image for caching (PUT /v2/cache/{image_id})."),
    _rule("cache_delete", ADMIN, "Remove an image from the cache and its queue, or clear "
          "them (DELETE /v2/cache/{image_id}, DELETE /v2/cache)."),
    _rule("cache_clean", ADMIN, "Remove half-written and unknown copies older than "
          "image_cache_stall_time (POST /v2/cache/clean)."),
    _rule("cache_prune", ADMIN, "Remove least recently used copies until the cache is "
          "under image_cache_max_size (POST /v2/cache/prune)."),
]

# Multi-store (api/discovery.py, api/stores.py). Glance's defaults: the
# store details are for admins and services; DELETE /v2/stores/{store}/{image}
# is checked with delete_image_location (above, admin-only).
RULES += [
    _rule("stores_info_detail", "rule:service_or_admin", "Show the stores' types, weights "
          "and settings (GET /v2/info/stores/detail)."),
]
