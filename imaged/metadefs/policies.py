"""Policy defaults of the metadefs API, as Glance's: any reader may read
(public namespaces and its own project's), only admins write."""
from shared.policy import RuleDefault

READS = ["get_metadef_namespaces", "get_metadef_namespace", "get_metadef_objects",
         "get_metadef_object", "get_metadef_properties", "get_metadef_property",
         "get_metadef_tags", "get_metadef_tag", "list_metadef_resource_types",
         "get_metadef_resource_type"]
WRITES = ["add_metadef_namespace", "modify_metadef_namespace", "delete_metadef_namespace",
          "add_metadef_object", "modify_metadef_object", "delete_metadef_object",
          "add_metadef_property", "modify_metadef_property", "remove_metadef_property",
          "add_metadef_tag", "add_metadef_tags", "modify_metadef_tag", "delete_metadef_tag",
          "delete_metadef_tags", "add_metadef_resource_type_association",
          "remove_metadef_resource_type_association"]

RULES = [
    RuleDefault("metadef_default", "role:reader", "Read metadata definitions."),
    RuleDefault("metadef_admin", "role:admin", "Change metadata definitions."),
    *[RuleDefault(name, "rule:metadef_default", f"Metadefs: {name}.") for name in READS],
    *[RuleDefault(name, "rule:metadef_admin", f"Metadefs: {name}.") for name in WRITES],
]
