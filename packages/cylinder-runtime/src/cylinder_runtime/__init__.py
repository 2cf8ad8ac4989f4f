"""cylinder-runtime: Cylinder's request pipeline on Werkzeug.

It loads handler, hook and error-handler files as modules (once per version of each file),
calls their ``main()`` with the parameters they ask for, and runs every request through
``app_map``, the early hook, the handler or static file, the late hook and the error handlers::

    from cylinder_runtime import Application

    def app_map(request):
        return "my_webapps", "webapp1", {}

    app = Application(app_map)
    client = app.test_client()
    assert client.get("/").status_code == 200

Most users reach it through ``cylinder.get_app``, which adds the configurable log formatter.
"""

from __future__ import annotations

from .aborter import REDIRECT_CODES, Abort, Redirect
from .app import Application
from .errors import AppMapError, CylinderError, HandlerLoadError, MissingParameterError
from .inject import BUILTIN_NAMES, ERROR_HANDLER_NAMES, CallPlan, plan_call
from .loader import LoadedFile, ModuleLoader
from .pipeline import BODY_HEADERS, Exchange, Pipeline
from .provided import Finish, Provision, Provisions, Start
from .static import content_headers, serve_file

__all__ = [
    "BODY_HEADERS",
    "BUILTIN_NAMES",
    "ERROR_HANDLER_NAMES",
    "REDIRECT_CODES",
    "Abort",
    "AppMapError",
    "Application",
    "CallPlan",
    "CylinderError",
    "Exchange",
    "Finish",
    "HandlerLoadError",
    "LoadedFile",
    "MissingParameterError",
    "ModuleLoader",
    "Pipeline",
    "Provision",
    "Provisions",
    "Redirect",
    "Start",
    "content_headers",
    "plan_call",
    "serve_file",
]
