"""imaged's routes (Glance v2). Glance answers 404 for an image the caller
may not see (a private image of another project), before any policy rule;
the rules get the image's owner as project_id (imaged/policies.py)."""
from __future__ import annotations

from functools import partial

from tests.support.rolematrix.model import Case, owned_by

C = partial(Case, "imaged")
ALPHA_IMAGE = {"project_id": "{alpha}", "owner": "{alpha}", "visibility": "private"}
SHARED_IMAGE = {**ALPHA_IMAGE, "visibility": "shared"}
PUBLIC_IMAGE = {"project_id": "{admin_project}", "owner": "{admin_project}",
                "visibility": "public"}
ALPHA = owned_by("alpha")
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTETS = {"Content-Type": "application/octet-stream"}
DATA = b"role-matrix-image-data" * 32
NS = "/v2/metadefs/namespaces/<namespace>"
ONE_NS = "/v2/metadefs/namespaces/{namespace}"
FRESH_NS = "/v2/metadefs/namespaces/{fresh}"


def image(route: str, path: str, rule: str, **kwargs) -> Case:
    """A case on one of alpha's private images."""
    return C(route, path, rule, target=kwargs.pop("target", ALPHA_IMAGE),
             seen=kwargs.pop("seen", ALPHA), **kwargs)


CASES = [
    C("GET /", "/", public=True, ok=(300,)),
    C("GET /versions", "/versions", public=True),
    C("GET /v2/schemas/<name>", "/v2/schemas/image"),
    C("GET /v2/info/import", "/v2/info/import"),
    C("GET /v2/info/stores", "/v2/info/stores"),
    C("GET /v2/info/stores/detail", "/v2/info/stores/detail", "stores_info_detail"),
    C("GET /v2/info/usage", "/v2/info/usage"),
    # images
    C("GET /v2/images", "/v2/images", "get_images"),
    C("POST /v2/images", "/v2/images", "add_image", ok=(201,),
      json={"name": "{unique}", "disk_format": "raw", "container_format": "bare"}),
    image("GET /v2/images/<image_id>", "/v2/images/{image}", "get_image"),
    C("GET /v2/images/<image_id>", "/v2/images/{image_public}", "get_image",
      target=PUBLIC_IMAGE, label="public"),
    C("GET /v2/images/<image_id>", "/v2/images/{image_shared}", "get_image",
      target=SHARED_IMAGE, label="shared with beta"),
    image("PATCH /v2/images/<image_id>", "/v2/images/{image}", "modify_image",
          data=b'[{"op": "replace", "path": "/rm_property", "value": "changed"}]',
          headers=PATCH),
    image("DELETE /v2/images/<image_id>", "/v2/images/{fresh}", "delete_image",
          fresh="image", ok=(204,)),
    image("POST /v2/images/<image_id>/actions/<action>",
          "/v2/images/{fresh}/actions/deactivate", "deactivate", fresh="active_image",
          ok=(204,), label="deactivate"),
    image("POST /v2/images/<image_id>/actions/<action>",
          "/v2/images/{fresh}/actions/reactivate", "reactivate", fresh="deactivated_image",
          ok=(204,), label="reactivate"),
    image("GET /v2/images/<image_id>/file", "/v2/images/{image}/file", "download_image"),
    image("PUT /v2/images/<image_id>/file", "/v2/images/{fresh}/file", "upload_image",
          fresh="image", data=DATA, headers=OCTETS, ok=(204,)),
    image("PUT /v2/images/<image_id>/stage", "/v2/images/{fresh}/stage", "upload_image",
          fresh="image", data=DATA, headers=OCTETS, ok=(204,)),
    image("POST /v2/images/<image_id>/import", "/v2/images/{fresh}/import", "import_image",
          fresh="staged_image", json={"method": {"name": "glance-direct"}}, ok=(202,)),
    image("GET /v2/images/<image_id>/locations", "/v2/images/{image}/locations",
          "fetch_image_location"),
    image("POST /v2/images/<image_id>/locations", "/v2/images/{fresh}/locations",
          "add_image_location", fresh="image", ok=(400,),
          json={"url": "file:///etc/passwd"},
          why="policy passed; a file location outside the stores is then refused"),
    image("GET /v2/images/<image_id>/tasks", "/v2/images/{image_imported}/tasks",
          "get_tasks"),
    image("PUT /v2/images/<image_id>/tags/<tag>", "/v2/images/{image}/tags/rm-new",
          "modify_image", ok=(204,)),
    image("DELETE /v2/images/<image_id>/tags/<tag>", "/v2/images/{fresh}/tags/rm",
          "modify_image", fresh="tagged_image", ok=(204,)),
    # members: the shared image is seen by its owner and by beta, its member
    C("GET /v2/images/<image_id>/members", "/v2/images/{image_shared}/members", "get_members",
      target=SHARED_IMAGE),
    C("GET /v2/images/<image_id>/members/<member_id>",
      "/v2/images/{image_shared}/members/{beta}", "get_member",
      target={**SHARED_IMAGE, "member_id": "{beta}"}),
    C("PUT /v2/images/<image_id>/members/<member_id>",
      "/v2/images/{image_shared}/members/{beta}", "modify_member",
      target={**SHARED_IMAGE, "member_id": "{beta}"}, json={"status": "accepted"}),
    image("POST /v2/images/<image_id>/members", "/v2/images/{fresh}/members", "add_member",
          target=SHARED_IMAGE, fresh="shareable_image", json={"member": "{beta}"}),
    C("DELETE /v2/images/<image_id>/members/<member_id>",
      "/v2/images/{fresh}/members/{beta}", "delete_member",
      target={**SHARED_IMAGE, "member_id": "{beta}"}, fresh="shared_image", ok=(204,)),
    # one store's copy, tasks, the cache
    image("DELETE /v2/stores/<store_id>/<image_id>", "/v2/stores/{store}/{fresh}",
          ("get_image_location", "delete_image_location"), fresh="active_image",
          ok=(409,), why="policy passed; the store holds the image's only copy, which "
                         "Glance refuses to remove (delete the image instead)"),
    C("GET /v2/tasks", "/v2/tasks", ("tasks_api_access", "get_tasks")),
    C("GET /v2/tasks/<task_id>", "/v2/tasks/{task}", ("tasks_api_access", "get_task"),
      target={"project_id": "{alpha}"}),
    C("GET /v2/cache", "/v2/cache", "cache_list"),
    image("PUT /v2/cache/<image_id>", "/v2/cache/{image}", "cache_image", ok=(202,)),
    C("DELETE /v2/cache/<image_id>", "/v2/cache/{fresh}", "cache_delete", fresh="cached_image",
      target=ALPHA_IMAGE, ok=(204,),
      why="Glance asks the admin-only rule first for an image in the cache (403, not 404)"),
    C("DELETE /v2/cache", "/v2/cache", "cache_delete", ok=(204,),
      headers={"x-image-cache-clear-target": "queue"}),
    C("POST /v2/cache/clean", "/v2/cache/clean", "cache_clean"),
    C("POST /v2/cache/prune", "/v2/cache/prune", "cache_prune"),
    # metadata definitions: readers read, admins write
    C("GET /v2/metadefs/resource_types", "/v2/metadefs/resource_types",
      "list_metadef_resource_types"),
    C("GET /v2/metadefs/namespaces", "/v2/metadefs/namespaces", "get_metadef_namespaces"),
    C("POST /v2/metadefs/namespaces", "/v2/metadefs/namespaces", "add_metadef_namespace",
      ok=(201,), json={"namespace": "{unique}", "visibility": "public"}),
    C(f"GET {NS}", ONE_NS, "get_metadef_namespace"),
    C(f"PUT {NS}", ONE_NS, "modify_metadef_namespace",
      json={"namespace": "{namespace}", "display_name": "Changed", "visibility": "public"}),
    C(f"DELETE {NS}", FRESH_NS, "delete_metadef_namespace", fresh="namespace", ok=(204,)),
    C(f"GET {NS}/objects", ONE_NS + "/objects", "get_metadef_objects"),
    C(f"POST {NS}/objects", ONE_NS + "/objects", "add_metadef_object", ok=(201,),
      json={"name": "{unique}", "properties": {}}),
    C(f"DELETE {NS}/objects", FRESH_NS + "/objects", "delete_metadef_object",
      fresh="namespace", ok=(204,)),
    C(f"GET {NS}/objects/<name>", ONE_NS + "/objects/rm-object", "get_metadef_object"),
    C(f"PUT {NS}/objects/<name>", ONE_NS + "/objects/rm-object", "modify_metadef_object",
      json={"name": "rm-object", "description": "changed", "properties": {}}),
    C(f"DELETE {NS}/objects/<name>", FRESH_NS + "/objects/rm-object",
      "delete_metadef_object", fresh="namespace", ok=(204,)),
    C(f"GET {NS}/properties", ONE_NS + "/properties", "get_metadef_properties"),
    C(f"POST {NS}/properties", ONE_NS + "/properties", "add_metadef_property", ok=(201,),
      json={"name": "{unique_name}", "title": "New", "type": "integer"}),
    C(f"DELETE {NS}/properties", FRESH_NS + "/properties", "remove_metadef_property",
      fresh="namespace", ok=(204,)),
    C(f"GET {NS}/properties/<name>", ONE_NS + "/properties/rm_prop", "get_metadef_property"),
    C(f"PUT {NS}/properties/<name>", ONE_NS + "/properties/rm_prop",
      "modify_metadef_property", json={"name": "rm_prop", "title": "Changed",
                                       "type": "string"}),
    C(f"DELETE {NS}/properties/<name>", FRESH_NS + "/properties/rm_prop",
      "remove_metadef_property", fresh="namespace", ok=(204,)),
    C(f"GET {NS}/resource_types", ONE_NS + "/resource_types", "get_metadef_resource_type"),
    C(f"POST {NS}/resource_types", FRESH_NS + "/resource_types",
      "add_metadef_resource_type_association", fresh="namespace", ok=(201,),
      json={"name": "OS::Cinder::Volume", "prefix": "rm_"}),
    C(f"DELETE {NS}/resource_types/<name>", FRESH_NS + "/resource_types/OS::Glance::Image",
      "remove_metadef_resource_type_association", fresh="namespace", ok=(204,)),
    C(f"GET {NS}/tags", ONE_NS + "/tags", "get_metadef_tags"),
    C(f"POST {NS}/tags", FRESH_NS + "/tags", "add_metadef_tags", fresh="namespace",
      ok=(201,), json={"tags": [{"name": "rm-t1"}, {"name": "rm-t2"}]}),
    C(f"DELETE {NS}/tags", FRESH_NS + "/tags", "delete_metadef_tags", fresh="namespace",
      ok=(204,)),
    C(f"GET {NS}/tags/<name>", ONE_NS + "/tags/rm-tag", "get_metadef_tag"),
    C(f"POST {NS}/tags/<name>", FRESH_NS + "/tags/rm-new-tag", "add_metadef_tag",
      fresh="namespace", ok=(201,)),
    C(f"PUT {NS}/tags/<name>", FRESH_NS + "/tags/rm-tag", "modify_metadef_tag",
      fresh="namespace", json={"name": "rm-renamed"}),
    C(f"DELETE {NS}/tags/<name>", FRESH_NS + "/tags/rm-tag", "delete_metadef_tag",
      fresh="namespace", ok=(204,)),
    C("GET /pocketstack/v1/events", "/pocketstack/v1/events", "events:list"),
]
