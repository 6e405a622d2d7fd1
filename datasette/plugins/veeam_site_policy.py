"""The site's policy pages, on the helpers of the site plugin (veeam_site.py): one operation's
policy files, the merged policy of operations picked on a product page, the upgrade page.

Every policy comes from `catalog.analysis` (the definition `veeam-perms policy` uses); this module
only routes, renders and names the downloads. A policy too long for one AWS managed policy is
several documents: the page shows one Copy per document and `?part=N` downloads one of them.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from catalog.analysis import site_data, site_policy
from catalog.analysis.compare import CompareError
from catalog.analysis.policy_docs import FORMATS
from catalog.analysis.questions import UPGRADE_FIELDS
from catalog.model import bounded_int, operation_texts, point_text
from catalog.urls import PRODUCT_CODE_PART
from datasette import Response, hookimpl


def _site():
    from datasette.plugins import pm

    return pm.get_plugin("veeam_site.py")


def _download(request, data: dict, fmt: str, stem: str) -> Response | None:
    """The whole text of a format (several AWS documents as one JSON array), or with `?part=N`
    the N-th document alone; None when there is no such format or part."""
    if fmt not in data["documents"]:
        return None
    text, part = data["documents"][fmt], request.args.get("part", "")
    if part:
        parts, number = data["parts"][fmt], bounded_int(part, len(data["parts"][fmt]))
        if not number:
            return None
        text, stem = parts[number - 1], f"{stem}-{number}"
    _, extension, media = FORMATS[fmt]
    return Response(text, content_type=f"{media}; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{stem}.{extension}"'})


async def operation_policy(datasette, request):
    fmt, site = request.url_vars["fmt"], _site()
    row_id = site._row_id(request)
    data = None if row_id is None else await site._run(datasette, site_data.operation_page, row_id)
    response = None if data is None else _download(request, data, fmt, f"veeam-operation-{data['operation_id']}-{fmt}")
    if response is None:
        return await site._not_found(datasette, request, f"No {fmt} policy for operation {request.url_vars['id']}.")
    return response


def _build(request) -> str | None:
    return point_text(request.args.get("build"))


async def merged_policy(datasette, request):
    """`/products/<code>/policy?build=B&id=1&id=2[&optional=1]`: the product page's multi-select."""
    code, site = request.url_vars["code"], _site()
    ids = site_policy.picked_ids(request.args.getlist("id"))
    include_optional = request.args.get("optional") == "1"
    try:
        data = await site._run(datasette, site_policy.merged_policy_page, code, _build(request), ids,
                               include_optional)
    except CompareError as error:
        return await site._error(datasette, request, f"Cannot merge these operations: {error}.", 400)
    if data is None:
        return await site._not_found(datasette, request, f"No product {code!r} in the catalog.")
    fmt = request.url_vars.get("fmt")
    if fmt:
        response = _download(request, data, fmt, f"veeam-{code}-{data['build']}-merged-{fmt}")
        return response or await site._not_found(datasette, request, f"No {fmt} policy for these operations.")
    answer = {k: data[k] for k in ("code", "name", "build", "include_optional", "operations", "policy_name",
                                   "documents", "parts", "cli")}
    return await site._page(datasette, request, data, "veeam_policy.html",
                            {"data": data, "formats": FORMATS, "query": request.query_string,
                             "toggle": _toggled_query(request)}, json_value=answer)


def _toggled_query(request) -> str:
    """The same pick with the include-optional toggle flipped."""
    pairs = [(key, value) for key, value in parse_qsl(request.query_string, keep_blank_values=True)
             if key != "optional"]
    if request.args.get("optional") != "1":
        pairs.append(("optional", "1"))
    return urlencode(pairs)


async def upgrade(datasette, request):
    code, site = request.url_vars["code"], _site()
    operations = operation_texts(*request.args.getlist("operation"))
    try:
        data = await site._run(datasette, site_policy.upgrade_page, code, *site._points(request), operations)
    except CompareError as error:
        return await site._error(datasette, request, str(error), 400)
    if data is None:
        return await site._not_found(datasette, request, f"No product {code!r} in the catalog.")
    fmt = request.url_vars.get("fmt")
    if fmt:
        response = _download(request, data, fmt, f"veeam-{code}-{data['delta'].to_build}-{fmt}")
        return response or await site._not_found(datasette, request, f"No {fmt} policy for these operations.")
    return await site._page(datasette, request, data, "veeam_upgrade.html",
                            {"data": data, "formats": FORMATS, "query": request.query_string},
                            json_value=data["answer"], csv_rows=data["delta"].rows(), csv_fields=UPGRADE_FIELDS)


_CODE = rf"(?P<code>{PRODUCT_CODE_PART})"
_POLICY = r"(?P<fmt>" + "|".join(FORMATS) + ")"


@hookimpl
def register_routes():
    return [
        (rf"^/operations/(?P<id>\d+)/policy/{_POLICY}$", operation_policy),
        (rf"^/products/{_CODE}/policy(?P<format>\.json)?$", merged_policy),
        (rf"^/products/{_CODE}/policy/{_POLICY}$", merged_policy),
        (rf"^/upgrade/{_CODE}(?P<format>\.json|\.csv)?$", upgrade),
        (rf"^/upgrade/{_CODE}/policy/{_POLICY}$", upgrade),
    ]
