"""The site's Atom feeds and its check form (judged in a worker process), on the helpers of the site
plugin (veeam_site.py): its bounded answer cache and its page rendering.

Datasette loads every file in plugins/ as a separate module that is not importable by name, so the
helpers are reached through Datasette's plugin manager, where the site plugin is registered.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from urllib.parse import unquote_plus

from catalog.analysis import site_data
from catalog.analysis.compare import CompareError
from catalog.limits import InFlight
from catalog.model import operation_texts, point_text
from catalog.urls import PRODUCT_CODE_PART
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
MAX_SITE_ENTRIES = 20_000  # action and permission entries of one pasted input
SHOWN_ON_PAGE = 100  # names listed per section; the page says how many more
MAX_FIELD_BYTES = 4096  # every field but the pasted input (product, builds, operations)

# Checks run in one worker process, never on the event loop: a 15,000-action policy costs the
# worker a second of CPU while the site keeps answering. Created on the first check.
_pool: ProcessPoolExecutor | None = None
_checks: InFlight | None = None  # checks queued or running, per client and in all


def _worker_pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        from catalog.analysis.check import limit_worker

        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=limit_worker)
    return _pool


def _replace_worker(broken: ProcessPoolExecutor) -> None:
    """A worker that died (past its memory) is replaced once, by the first check that hears of it;
    the next check starts a new one. A check past its time stops itself in the worker."""
    global _pool
    if _pool is broken:
        _pool = None
        broken.shutdown(wait=False, cancel_futures=True)


async def _judge_off_loop(client: str, *args):
    """The worker's answer. Beyond `check.WORKER_QUEUE` checks at once, or
    `check.WORKER_QUEUE_PER_CLIENT` from one client, the request is turned away."""
    global _checks
    from catalog.analysis import check

    if _checks is None:
        _checks = InFlight(check.WORKER_QUEUE_PER_CLIENT, check.WORKER_QUEUE)
    refusal = _checks.refusal(client)
    if refusal == "client":
        raise _Refused("Your other checks are still running; try again once they are done.", 429)
    if refusal == "total":
        raise _Refused("Too many checks at once; try again in a moment.", 503)
    pool = _worker_pool()
    with _checks.held(client):
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, check.judge_pasted, *args,
                                                                    check.WORKER_SECONDS)
        except BrokenProcessPool as error:
            _replace_worker(pool)
            raise _Refused("The check took too much memory and was stopped.", 503) from error


class _Refused(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _split_form(request, body: bytes) -> tuple[dict, bytes]:
    """The small fields decoded; the pasted input left percent-encoded for the worker (decoding
    200 kB of escapes costs the event loop tens of milliseconds)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise _Refused("Send the form as application/x-www-form-urlencoded.")
    form, pasted = {}, b""
    for part in body.split(b"&"):
        name, _, value = part.partition(b"=")
        # the security middleware refused a body that is not UTF-8; a name is cut once decoded,
        # never inside a character
        key = unquote_plus(name.decode())[:100]
        if key == "policy":
            # its length in characters is judged by the worker once decoded: a percent-encoded
            # character takes 3 to 12 bytes, and the body is bounded in bytes already
            pasted = value
        elif len(value) > MAX_FIELD_BYTES:
            raise _Refused(f"The field {key[:40]!r} is longer than {MAX_FIELD_BYTES:,} bytes.")
        else:
            form[key] = unquote_plus(value.decode())
    return form, pasted


async def _check_answer(datasette, form: dict, pasted: bytes, client: str) -> dict:
    """Needs and next-build additions from the catalog (cached), verdicts from the worker."""
    from catalog.analysis.check_coverage import apply_next_adds, coverage_pairs, needs_for, next_adds_for

    operations = operation_texts(form.get("operation"))
    if not operations:
        raise _Refused("Name at least one operation (part of its title).")
    product, builds = form.get("product", ""), point_text(form.get("builds"))
    build = None if builds else point_text(form.get("build"))
    points = await _site()._run(datasette, needs_for, product, build, builds, operations)
    form["policy"], checked, error = await _judge_off_loop(
        client, pasted, "the pasted policy", points, form.get("include_optional") == "on", MAX_POLICY_CHARS,
        MAX_SITE_ENTRIES)
    if error:
        raise _Refused(error)
    deltas = {pair: await _site()._run(datasette, next_adds_for, product, *pair, operations)
              for pair in coverage_pairs(checked)}
    apply_next_adds(checked, deltas)
    return {"checked": checked, "points": [needs.point for needs in points], "builds": bool(builds),
            "failed": any(item.failed for item in checked), "shown": SHOWN_ON_PAGE}


async def check(datasette, request):
    """Paste what is granted, get a verdict per principal (and per build); nothing is stored."""
    products = await _site()._run(datasette, site_data.home)
    context = {"products": products, "form": {}, "result": None, "error": None}
    status = 200
    if request.method == "POST":
        try:
            context["form"], pasted = _split_form(request, await request.post_body())
            client = (request.scope.get("client") or ("?",))[0]
            context["result"] = await _check_answer(datasette, context["form"], pasted, client)
        except CompareError as error:
            context["error"], status = str(error), 400
        except _Refused as error:
            context["error"], status = str(error), error.status
    return await _site()._render(datasette, request, "veeam_check.html", context, status=status)


@hookimpl
def skip_csrf(datasette, scope):
    """/check stores nothing and changes nothing, so a forged cross-site POST gains nothing; without
    the CSRF check its 200 kB body is not parsed a second time on the event loop."""
    return scope.get("type") == "http" and scope.get("path") == "/check"


@hookimpl
def register_routes():
    return [
        (rf"^/feeds/(?P<code>{PRODUCT_CODE_PART})\.atom$", feed),
        (r"^/check$", check),
    ]
