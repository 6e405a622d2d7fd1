"""The catalog website's own pages on top of Datasette, built around the administrator's
questions: home, product (at a build or date), operation (policy in every format), permission,
search, changes between two points. The policy pages (downloads, the merged policy of picked
operations, the upgrade delta) are in veeam_site_policy.py, the Atom feeds and the policy check in
veeam_site_forms.py; both use this module's cache and rendering helpers.

Every page has a `.json` twin (and `.csv` for tables); policies download as files. Data comes
from `catalog.analysis.site_data` / `questions`; this module only routes, renders and escapes.
"""

from __future__ import annotations

import json
import pickle
from collections import OrderedDict

from sqlite_utils import Database

from catalog.analysis import charts, site_data, site_policy
from catalog.analysis.compare import CompareError
from catalog.analysis.policy_docs import AWS_MANAGED_POLICY_LIMIT, FORMATS
from catalog.analysis.questions import CHANGE_FIELDS, register_functions
from catalog.model import bounded_int, point_text
from catalog.urls import PRODUCT_CODE_PART
from datasette import Response, hookimpl


def _database(datasette):
    return datasette.get_database()


_CACHE: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
CACHE_BYTES = 8_000_000  # pickled size of the remembered answers and pages; least recently used go first
_cache_used = 0


def cache_bytes() -> int:
    return _cache_used


def _recall(key: tuple):
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key][0]
    return None


def _remember(key: tuple, value) -> None:
    global _cache_used
    try:
        size = len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)) + len(repr(key))
    except Exception:  # an answer that cannot be measured is not kept
        return
    if size > CACHE_BYTES // 4:
        return
    while _CACHE and _cache_used + size > CACHE_BYTES:
        _cache_used -= _CACHE.popitem(last=False)[1][1]
    _CACHE[key] = (value, size)
    _cache_used += size


async def _run(datasette, function, *args):
    """Run a sync catalog query on Datasette's read connection, remembering the answer.

    The catalog is served immutable, so an answer never goes stale while this process serves it;
    the cache is bounded in bytes (any query string makes a new key) and holds no request state.
    """
    database = _database(datasette)
    key = (database.name, database.hash, getattr(function, "__qualname__", repr(function)), args)
    if key in _CACHE:
        return _recall(key)
    value = await database.execute_fn(lambda conn: function(Database(conn), *args))
    if not database.is_mutable:
        _remember(key, value)
    return value


async def _render(datasette, request, template, context, status=200):
    html = await datasette.render_template(template, context, request=request)
    return Response.html(html, status=status)


async def _not_found(datasette, request, message):
    return await _error(datasette, request, message, 404)


async def _error(datasette, request, message, status):
    if request.url_vars.get("format") == ".json":
        return Response.json({"ok": False, "error": message, "status": status}, status=status)
    title = "Not found" if status == 404 else "Cannot answer that"
    return await _render(datasette, request, "veeam_error.html",
                         {"message": message, "title": title, "status": status}, status=status)


def _csv(rows: list[dict], fields: tuple[str, ...] | None = None) -> Response:
    return Response(site_data.as_csv(rows, fields), content_type="text/csv; charset=utf-8")


def _json(value) -> Response:
    return Response(json.dumps(value, ensure_ascii=False, default=str, indent=2),
                    content_type="application/json; charset=utf-8")


async def _page(datasette, request, data, template, context, json_value=None, csv_rows=None,
                csv_fields=None):
    fmt = request.url_vars.get("format")
    if fmt == ".json":
        return _json(data if json_value is None else json_value)
    if fmt == ".csv" and csv_rows is not None:
        return _csv(csv_rows, csv_fields)
    database = _database(datasette)
    key = ("html", database.name, database.hash, request.path, request.query_string)
    html = _recall(key)  # an immutable catalog renders a page the same way every time
    if html is None:
        html = await datasette.render_template(template, context, request=request)
        if not database.is_mutable:
            _remember(key, html)
    return Response.html(html)


def _page_number(request) -> int:
    return bounded_int(request.args.get("page"), 999_999) or 1


async def home(datasette, request):
    products = await _run(datasette, site_data.home)
    return await _page(datasette, request, products, "veeam_home.html", {"products": products},
                       csv_rows=products)


async def product(datasette, request):
    code, at = request.url_vars["code"], request.args.get("build") or None
    try:
        data = await _run(datasette, site_data.product_page, code, at)
    except CompareError as error:
        return await _error(datasette, request, str(error), 400)
    if data is None:
        return await _not_found(datasette, request, f"No product {code!r} in the catalog.")
    rows = [{k: op[k] for k in ("id", "page", "page_title", "section", "title", "description", "kind",
                                "permissions", "principals")} for op in data["operations"]]
    picked = set(site_policy.picked_ids(request.args.getlist("id")))  # a pick brought back from its policy
    return await _page(datasette, request, data, "veeam_product.html",
                       {"product": data, "chart": charts.build_timeline(data["timeline"]), "picked": picked,
                        "include_optional": request.args.get("optional") == "1"},
                       json_value={k: v for k, v in data.items() if k != "operations"}, csv_rows=rows)


def _row_id(request) -> int | None:
    return bounded_int(request.url_vars["id"])


async def operation(datasette, request):
    row_id = _row_id(request)
    data = None if row_id is None else await _run(datasette, site_data.operation_page, row_id)
    if data is None:
        return await _not_found(datasette, request, f"No operation {request.url_vars['id']} in the catalog.")
    return await _page(datasette, request, data, "veeam_operation.html",
                       {"op": data, "chart": charts.size_sparkline(data["history"]), "formats": FORMATS},
                       csv_rows=data["permissions"])


async def permission(datasette, request):
    row_id = _row_id(request)
    data = None if row_id is None else await _run(datasette, site_data.permission_page, row_id)
    if data is None:
        return await _not_found(datasette, request, f"No permission {request.url_vars['id']} in the catalog.")
    return await _page(datasette, request, data, "veeam_permission.html", {"permission": data},
                       csv_rows=data["uses"])


SEARCH_FIELDS = ("type", "id", "label", "detail", "section", "description", "risk", "operations")


async def search(datasette, request):
    data = await _run(datasette, site_data.search, request.args.get("q", "")[:200], _page_number(request))
    return await _page(datasette, request, data, "veeam_search.html", {"q": data["q"], "data": data},
                       csv_rows=data["rows"], csv_fields=SEARCH_FIELDS)


def _points(request) -> tuple[str | None, str | None]:
    return point_text(request.args.get("from")), point_text(request.args.get("to"))


async def changes(datasette, request):
    code = request.url_vars["code"]
    try:
        data = await _run(datasette, site_data.changes_page, code, *_points(request), _page_number(request),
                          request.args.get("url") or None)
    except CompareError as error:
        return await _error(datasette, request, str(error), 400)
    if data is None:
        return await _not_found(datasette, request, f"No product {code!r} in the catalog.")
    answer = {k: data[k] for k in ("product", "url", "from", "to", "from_point", "to_point", "total",
                                   "pages_compared", "metadata_only", "rows")}
    return await _page(datasette, request, data, "veeam_changes.html", {"data": data},
                       json_value=answer, csv_rows=data["rows"], csv_fields=CHANGE_FIELDS)


_CODE = rf"(?P<code>{PRODUCT_CODE_PART})"
_FORMAT = r"(?P<format>\.json|\.csv)?"


@hookimpl
def register_routes():
    return [
        (r"^/$", home),
        (r"^/products(?P<format>\.json|\.csv)$", home),
        (rf"^/products/{_CODE}{_FORMAT}$", product),
        (rf"^/operations/(?P<id>\d+){_FORMAT}$", operation),
        (rf"^/permissions/(?P<id>\d+){_FORMAT}$", permission),
        (rf"^/search{_FORMAT}$", search),
        (rf"^/changes/{_CODE}{_FORMAT}$", changes),
    ]


@hookimpl
def prepare_connection(conn):
    register_functions(conn)


@hookimpl
def prepare_jinja2_environment(env):
    # a global, so that macros imported without context (the policy documents) see it too
    env.globals["aws_managed_policy_limit"] = AWS_MANAGED_POLICY_LIMIT


@hookimpl
def extra_template_vars(datasette):
    async def inner():
        try:
            fresh = await _run(datasette, site_data.freshness)
        except Exception:  # a database without the catalog schema: show no freshness line
            fresh = None
        return {"freshness": fresh, "plural": site_data.plural}

    return inner
