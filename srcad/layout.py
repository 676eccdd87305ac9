"""Where srcad's compiler lives: installed, the top-level ``transforms/`` folder is the
package ``srcad.transforms`` (a package-dir mapping); in a checkout, installed in
development mode or not at all, it is the ``transforms/`` folder beside ``srcad/``,
loaded here under that name before anything imports it."""
import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDER = os.path.join(ROOT, "transforms")

if os.path.isfile(os.path.join(ROOT, "pyproject.toml")) \
        and os.path.isfile(os.path.join(FOLDER, "pipeline.py")) \
        and "srcad.transforms" not in sys.modules:
    spec = importlib.util.spec_from_file_location(
        "srcad.transforms", os.path.join(FOLDER, "__init__.py"),
        submodule_search_locations=[FOLDER])
    transforms = importlib.util.module_from_spec(spec)
    sys.modules["srcad.transforms"] = transforms
    sys.modules["srcad"].transforms = transforms    # as the import system binds a submodule
    spec.loader.exec_module(transforms)
