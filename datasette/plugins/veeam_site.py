"""The catalog website's own pages on top of Datasette: home, product, operation, permission,
changes between builds, Atom feeds and the policy check. Queries live in `catalog.site_data`;
this module only routes, renders and escapes.
"""

from __future__ import annotations

import datetime as dt
import pickle
from collections import OrderedDict

from sqlite_utils import Database

from catalog.analysis import charts, site_data
from catalog.analysis.compare import CompareError
from datasette import Response, hookimpl


def _database(datasette):
    return datasette.get_database()


_CACHE: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
CACHE_BYTES = 8_000_000  # pickled size of the remembered answers; the least recently used go first
_cache_used = 0


def cache_bytes() -> int:
    return _cache_used


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
        _CACHE.move_to_end(key)
        return _CACHE[key][0]
    value = await database.execute_fn(lambda conn: function(Database(conn), *args))
    if not database.is_mutable:
        _remember(key, value)
    return value


async def _render(datasette, request, template, context, status=200):
    html = await datasette.render_template(template, context, request=request)
    return Response.html(html, status=status)


async def _not_found(datasette, request, message):
    return await _render(datasette, request, "veeam_error.html", {"message": message}, status=404)


async def home(datasette, request):
    products = await _run(datasette, site_data.home)
    return await _render(datasette, request, "veeam_home.html", {"products": products})


async def product(datasette, request):
    code = request.url_vars["code"]
    data = await _run(datasette, site_data.product_page, code)
    if data is None:
        return await _not_found(datasette, request, f"No product {code!r} in the catalog.")
    chart = charts.build_timeline(data["timeline"])
    return await _render(datasette, request, "veeam_product.html", {"product": data, "chart": chart})


MAX_ID = 2**63 - 1  # SQLite's largest integer: a longer id is no row, not an overflow


def _row_id(request) -> int | None:
    value = int(request.url_vars["id"])
    return value if value <= MAX_ID else None


async def operation(datasette, request):
    row_id = _row_id(request)
    data = None if row_id is None else await _run(datasette, site_data.operation_page, row_id)
    if data is None:
        return await _not_found(datasette, request, f"No operation {request.url_vars['id']} in the catalog.")
    chart = charts.size_sparkline(data["history"])
    return await _render(datasette, request, "veeam_operation.html", {"op": data, "chart": chart})


async def permission(datasette, request):
    row_id = _row_id(request)
    data = None if row_id is None else await _run(datasette, site_data.permission_page, row_id)
    if data is None:
        return await _not_found(datasette, request, f"No permission {request.url_vars['id']} in the catalog.")
    return await _render(datasette, request, "veeam_permission.html", {"permission": data})


async def search(datasette, request):
    query = request.args.get("q", "")[:200]
    results = await _run(datasette, site_data.search_permissions, query)
    return await _render(datasette, request, "veeam_search.html", {"q": query, "results": results})


async def changes(datasette, request):
    code = request.url_vars["code"]
    try:
        data = await _run(datasette, site_data.changes_page, code, request.args.get("from"),
                          request.args.get("to"))
    except CompareError as error:
        return await _render(datasette, request, "veeam_error.html", {"message": str(error)}, status=400)
    return await _render(datasette, request, "veeam_changes.html", {"data": data})


def _feed_xml(db, code, url):
    from catalog.analysis.changelog import atom_feed
    from catalog.analysis.compare import feed_changes

    name = db.execute("select name from products where code = ?", [code]).fetchone()
    if not name:
        return None
    return atom_feed(feed_changes(db, code), code, name[0], url,
                     dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))


async def feed(datasette, request):
    code = request.url_vars["code"]
    body = await _run(datasette, _feed_xml, code, request.url)
    if body is None:
        return await _not_found(datasette, request, f"No product {code!r} in the catalog.")
    return Response(body, content_type="application/atom+xml; charset=utf-8")


MAX_POLICY_CHARS = 200_000


async def check(datasette, request):
    """Paste a policy, get what is missing; nothing is stored."""
    from catalog.analysis.check import PolicyError, check_text
    from catalog.analysis.policy import select_permissions

    products = await _run(datasette, site_data.home)
    # The body was read by the security middleware: at most its byte limit, and valid UTF-8.
    form = dict(await request.post_vars()) if request.method == "POST" else {}
    context = {"products": products, "form": form, "result": None, "error": None}
    if request.method == "POST":
        text = form.get("policy", "")
        operations = tuple(t.strip() for t in form.get("operation", "").split(",") if t.strip())
        if len(text) > MAX_POLICY_CHARS:
            context["error"] = f"The policy is longer than {MAX_POLICY_CHARS:,} characters."
        elif not operations:
            context["error"] = "Name at least one operation (part of its title)."
        else:
            try:
                selection = await _run(datasette, select_permissions, form.get("product", ""),
                                       form.get("build") or None, operations)
                context["result"] = check_text(text, "the pasted policy", selection)
                context["selection"] = selection
            except (PolicyError, CompareError) as error:
                context["error"] = str(error)
    status = 400 if context["error"] else 200
    return await _render(datasette, request, "veeam_check.html", context, status=status)


@hookimpl
def register_routes():
    return [
        (r"^/$", home),
        (r"^/products/(?P<code>[a-z0-9_-]+)$", product),
        (r"^/operations/(?P<id>\d+)$", operation),
        (r"^/permissions/(?P<id>\d+)$", permission),
        (r"^/search$", search),
        (r"^/changes/(?P<code>[a-z0-9_-]+)$", changes),
        (r"^/feeds/(?P<code>[a-z0-9_-]+)\.atom$", feed),
        (r"^/check$", check),
    ]


@hookimpl
def extra_template_vars(datasette):
    async def inner():
        try:
            fresh = await _run(datasette, site_data.freshness)
        except Exception:  # a database without the catalog schema: show no freshness line
            fresh = None
        return {"freshness": fresh}

    return inner
