"""GET /openapi.json (the OpenAPI 3 document) and GET /docs (the same, as a page)."""
from __future__ import annotations

import html

from flask import Response
from flask_restful import Resource

from api.faces.http import openapi
from api.faces.spec import Endpoint


class OpenApi(Resource):
    spec = Endpoint("/openapi.json", "This API's OpenAPI 3 document", None, tags=("operations",))

    def get(self):
        self.spec.parse()
        return openapi()


class Docs(Resource):
    spec = Endpoint("/docs", "This API's documentation as a page", None, tags=("operations",),
                        media_type="text/html")

    def get(self):
        self.spec.parse()
        return Response(render_docs(openapi()), mimetype="text/html")


def render_docs(spec: dict) -> str:
    """A self-contained page (no script, no CDN: it works offline) listing every endpoint."""
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(spec['info']['title'])}"
             " API</title><style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
             "code{background:#f3f3f3;padding:0 .2em}table{border-collapse:collapse;width:100%}"
             "td,th{border-bottom:1px solid #ddd;padding:.3em;text-align:left;vertical-align:top}</style></head><body>",
             f"<h1>{html.escape(spec['info']['title'])} API <small>{html.escape(spec['info']['version'])}</small></h1>",
             f"<p>{html.escape(spec['info'].get('description', ''))}</p>",
             "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>. Errors answer "
             "<code>{\"error\": {\"code\", \"message\", \"parameter\"}}</code>.</p>"]
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            parts.append(f"<h2 id='{html.escape(path)}'><code>{method.upper()} {html.escape(path)}</code></h2>")
            parts.append(f"<p>{html.escape(op.get('description') or op.get('summary', ''))}</p>")
            parameters = op.get("parameters", [])
            if parameters:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>required</th><th>description</th></tr>")
                for p in parameters:
                    example = p.get("schema", {}).get("example", p.get("example"))
                    parts.append(
                        f"<tr><td><code>{html.escape(p['name'])}</code></td><td>{p['in']}</td>"
                        f"<td>{'yes' if p.get('required') else ''}</td><td>{html.escape(p.get('description', ''))}"
                        + (f" (e.g. <code>{html.escape(str(example))}</code>)" if example is not None else "")
                        + "</td></tr>")
                parts.append("</table>")
            statuses = ", ".join(f"{code} {html.escape(r['description'])}" for code, r in op["responses"].items())
            parts.append(f"<p>Answers: {statuses}.</p>")
    parts.append("</body></html>")
    return "".join(parts)
