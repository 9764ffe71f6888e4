"""Metadata definitions (Glance's "metadefs"): a catalog of the properties
that mean something to the cloud, such as hw_disk_bus or os_distro, grouped
in namespaces and associated with the resource types they apply to
(OS::Glance::Image, OS::Nova::Flavor, OS::Cinder::Volume).

They do not change how an image behaves: they document which properties
computed honours when it builds a domain, so a dashboard can offer them and a
student can look them up (`openstack image metadef namespace list`). A
standard set is loaded from definitions/*.json at first start."""
