"""Imaginarium for Blender: registration only. The add-on's runtime lives in imaginarium_addon/.

Submodules are imported inside register() so that tools (and tests) can import the
package's pure-Python parts without a running Blender.
"""


def register() -> None:
    from . import imaginarium_addon, operators, panels

    imaginarium_addon.register()
    operators.register()
    panels.register()


def unregister() -> None:
    from . import imaginarium_addon, operators, panels

    panels.unregister()
    operators.unregister()
    imaginarium_addon.unregister()
