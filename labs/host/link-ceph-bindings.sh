#!/bin/sh
# Make Ceph's Python bindings (python3-rados, python3-rbd: C extensions that
# Debian builds against librados/librbd, not on PyPI) importable in a
# virtualenv, by linking them into its site-packages. Needed only when the
# stack runs Ceph (imaged's rbd store, volumed's and computed's rbd backends).
# Does nothing when the packages are missing or were built for another
# Python version than the virtualenv's.
#
#   link-ceph-bindings.sh VENV
set -eu
venv=$1
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
suffix=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
for module in rados rbd; do
    built=/usr/lib/python3/dist-packages/$module$suffix
    if [ -e "$built" ] && [ ! -e "$site/$module$suffix" ]; then
        ln -s "$built" "$site/$module$suffix"
        echo "ceph bindings: $module linked into $venv"
    fi
done
