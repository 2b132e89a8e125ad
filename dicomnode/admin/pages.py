"""The admin web page: one server-rendered shell (Jinja2) whose script reads the JSON API.

Everything the page needs ships in this package (``templates/``, ``static/``): no CDN, no build step,
nothing fetched from the internet. The shell carries no data, so it is public (see
:mod:`dicomnode.admin.auth`); the script asks for the token when the API answers 401.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from db.audit import EVENT_TYPES, OUTCOMES
from db.jobs import STATES as JOB_STATES
from db.outbox import STATES as OUTBOX_STATES
from dicomnode import __version__

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
#: The page runs only its own script and style; it may talk only to this server.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    context = {"version": __version__, "event_types": EVENT_TYPES, "outcomes": OUTCOMES, "job_states": JOB_STATES,
               "outbox_states": OUTBOX_STATES}
    return TEMPLATES.TemplateResponse(request, "index.html", context)


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)


def mount(app: FastAPI) -> None:
    """Add the page and its static files to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
