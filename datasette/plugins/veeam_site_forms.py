"""The site's Atom feeds and its policy check form, on the helpers of the site plugin (veeam_site.py):
its bounded answer cache and its page rendering.

Datasette loads every file in plugins/ as a separate module that is not importable by name, so the
helpers are reached through Datasette's plugin manager, where the site plugin is registered.
"""

from __future__ import annotations

import datetime as dt

from catalog.analysis import site_data
from catalog.analysis.compare import CompareError
from catalog.model import operation_texts
from datasette import Response, hookimpl


def _site():
    from datasette.plugins import pm

    return pm.get_plugin("veeam_site.py")


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
    # The feed's id and self link: its own address without whatever query string came with the
    # request (that would make every query a new feed and a new cache entry).
    url = datasette.absolute_url(request, datasette.urls.path(f"/feeds/{code}.atom"))
    body = await _site()._run(datasette, _feed_xml, code, url)
    if body is None:
        return await _site()._not_found(datasette, request, f"No product {code!r} in the catalog.")
    return Response(body, content_type="application/atom+xml; charset=utf-8")


MAX_POLICY_CHARS = 200_000


async def check(datasette, request):
    """Paste a policy, get what is missing; nothing is stored."""
    from catalog.analysis.check import PolicyError, check_text
    from catalog.analysis.policy import select_permissions

    products = await _site()._run(datasette, site_data.home)
    form = dict(await request.post_vars()) if request.method == "POST" else {}
    context = {"products": products, "form": form, "result": None, "error": None}
    if request.method == "POST":
        text = form.get("policy", "")
        operations = operation_texts(form.get("operation"))
        if len(text) > MAX_POLICY_CHARS:
            context["error"] = f"The policy is longer than {MAX_POLICY_CHARS:,} characters."
        elif not operations:
            context["error"] = "Name at least one operation (part of its title)."
        else:
            try:
                selection = await _site()._run(datasette, select_permissions, form.get("product", ""),
                                       form.get("build") or None, operations)
                context["result"] = check_text(text, "the pasted policy", selection)
                context["selection"] = selection
            except (PolicyError, CompareError) as error:
                context["error"] = str(error)
    status = 400 if context["error"] else 200
    return await _site()._render(datasette, request, "veeam_check.html", context, status=status)


@hookimpl
def register_routes():
    return [
        (r"^/feeds/(?P<code>[a-z0-9_-]+)\.atom$", feed),
        (r"^/check$", check),
    ]
