"""The optional registry layer (Glance's old imaged-registry).

With `data_api = registry` in imaged-api.conf, imaged-api keeps no image
metadata itself: every ImageRepository call goes over HTTP to
imaged-registry, a separate process that owns the database. The API
behaves the same either way; what changes is where the database is, and who
may reach it (only the registry, authenticated with a service token).

    imaged-api --(RegistryImageRepository: POST /v1/rpc)--> imaged-registry
                                                          --(SqlImageRepository)--> database
"""
