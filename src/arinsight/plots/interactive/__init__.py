"""Interactive figures (Plotly) for the notebooks and the website.

One module per notebook page, taking the frames of :mod:`arinsight.receivables`,
:mod:`arinsight.commissions`, :mod:`arinsight.forecast`, :mod:`arinsight.risk` and clean's
quarantine, returning a :class:`plotly.graph_objects.Figure`:
hovering shows the exact values, clicking a legend entry hides or shows its series, and the
figures resize with the page. In a notebook a figure is shown as Plotly's JSON output
(``application/vnd.plotly.v1+json``); the website draws that JSON with the one copy of
plotly.js it serves itself (no CDN). Figures carry no random ids, so the same data gives the same
JSON.
"""

from typing import Any

from plotly.basedatatypes import BaseFigure

PLOTLY_MIME = "application/vnd.plotly.v1+json"


def mime_bundle(fig: BaseFigure) -> dict[str, Any]:
    """The notebook output of a figure: Plotly's JSON under its mimetype, exactly what Plotly's
    own ``plotly_mimetype`` renderer writes (no validation, uids kept, no ``config``)."""
    import json

    from plotly.io import to_json

    return {PLOTLY_MIME: json.loads(to_json(fig.to_dict(), validate=False, remove_uids=False))}


def _display(fig: BaseFigure) -> None:
    from IPython.display import display

    display(mime_bundle(fig), raw=True)


def _register_display() -> None:
    """In a notebook kernel, show figures through :func:`mime_bundle` instead of Plotly's renderer
    framework. Plotly's ``_ipython_display_`` imports ``plotly.io._renderers``, which imports
    nbformat and jsonschema's format checkers (about 1.5 s in every kernel, once per page of a
    run); the output is the same JSON. Outside IPython this does nothing."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebooks' environment
        return
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.ipython_display_formatter.for_type(BaseFigure, _display)


_register_display()
