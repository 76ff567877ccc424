"""Packages are found, never listed by hand: hotspotd.* from hotspotd/, and the two folders
that install inside it, web/ as hotspotd.web and radius/ as hotspotd.radius (so that
nothing installs a generic top-level `web` or `radius`). Everything else is in setup.cfg."""

from setuptools import find_packages, setup

PACKAGE_DIR = {"hotspotd.web": "web", "hotspotd.radius": "radius"}
packages = find_packages(include=["hotspotd", "hotspotd.*"])
for name, folder in PACKAGE_DIR.items():
    packages += [name, *(f"{name}.{sub}" for sub in find_packages(folder))]

setup(packages=packages, package_dir=PACKAGE_DIR)
