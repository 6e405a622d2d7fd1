"""Bounds on the SQL anyone may type into the site (issues 22 and 23).

Datasette already stops a statement after `sql_time_limit_ms` and returns at most
`max_returned_rows` rows, but a row can be as large as SQLite lets one value grow, so one GET of
`select zeroblob(7999999) from pages` once returned 2.6 GB and took the server to 13 GB. Here,
decided before any work starts:

- no string or blob over 8 MB (SQLite's length limit, set on every connection by
  `veeam_security.MAX_SQL_VALUE_BYTES`);
- SQLite's own heap is capped at `MAX_SQLITE_HEAP_BYTES` (a row of many large columns, a big
  sort), so a query that needs more fails with "out of memory" turned into a 400 answer;
- one statement hands at most `MAX_ANSWER_BYTES` of row data to Python, counted as rows arrive,
  so rendering stays small; past it the query fails with a message saying so;
- a response body of a database page past `MAX_RESPONSE_BYTES` is refused (or cut, when
  streamed);
- one client runs at most `MAX_SQL_REQUESTS_PER_CLIENT` database requests at a time and the
  site at most `MAX_SQL_REQUESTS`; more get 429 / 503 at once instead of queueing behind them.

Two limits are coarser than they read. SQLite's heap limit is the process's, not a query's: while
a few heavy queries hold most of it, another visitor's page can get the same "out of memory" 400.
And a client is the address the connection comes from: behind a reverse proxy every visitor is
the proxy, so the per-client bound becomes the site's (4 at a time); a host that proxies should
bound clients at the proxy.
"""

from __future__ import annotations

import sqlite3
import weakref

from catalog.limits import InFlight
from datasette import Response, hookimpl

MAX_SQLITE_HEAP_BYTES = 64 * 1024 * 1024
MAX_ANSWER_BYTES = 8_000_000
MAX_RESPONSE_BYTES = 32_000_000
MAX_SQL_REQUESTS_PER_CLIENT = 4
MAX_SQL_REQUESTS = 8
_STATIC_PREFIXES = ("/-/static", "/static/")

ANSWER_TOO_LARGE = (f"The answer is over {MAX_ANSWER_BYTES:,} bytes, the most this site returns for one "
                    "query: ask for fewer rows or shorter values (substr, length).")
MEMORY_MESSAGE = ("The query needs more memory than this site gives one query: ask for fewer or "
                  "shorter values, or run it on your own copy of the catalog.")


# Characters the JSON or HTML renderers write as more than one byte: control characters become
# `\u0000`, markup characters `&lt;`, quotes and backslashes get an escape.
_ESCAPED = bytes(range(32)) + b'<>&"\'\\'


def rendered_size(value) -> int:
    """An upper bound of the bytes a value takes in a JSON or HTML answer, computed in C-speed
    passes: plain ASCII counts its length, escaped characters six bytes each, other text six
    bytes per UTF-16 unit (`\\uXXXX`), blobs their base64 length."""
    if isinstance(value, str):
        if value.isascii():
            data = value.encode("ascii")
            return 2 + len(data) + 5 * (len(data) - len(data.translate(None, _ESCAPED)))
        return 2 + 3 * len(value.encode("utf-16-le"))
    if isinstance(value, bytes):
        return len(value) * 4 // 3 + 40
    return 24


def budgeted_rows(row_factory):
    """A row factory that counts what each cursor's rows will take once rendered (column names
    included: the `objects` JSON shape repeats them in every row) and fails the statement past
    `MAX_ANSWER_BYTES`; rows themselves are built by `row_factory` (Datasette's sqlite3.Row)."""
    spent: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # cursor -> [bytes so far, names]

    def factory(cursor, row):
        state = spent.get(cursor)
        if state is None:
            state = spent[cursor] = [0, sum(len(column[0]) for column in cursor.description or ())]
        state[0] += state[1] + sum(rendered_size(value) for value in row)
        if state[0] > MAX_ANSWER_BYTES:
            raise sqlite3.OperationalError(ANSWER_TOO_LARGE)
        return row_factory(cursor, row) if row_factory else row

    return factory


@hookimpl
def prepare_connection(conn):
    # Process-wide and only ever lowered by this pragma: the server's SQLite never holds more.
    conn.execute(f"pragma hard_heap_limit = {MAX_SQLITE_HEAP_BYTES}")
    conn.row_factory = budgeted_rows(conn.row_factory)


@hookimpl
def handle_exception(request, exception):
    if isinstance(exception, MemoryError):  # SQLite's heap limit, or Python's
        return Response.text(MEMORY_MESSAGE + "\n", status=400)
    return None


def _is_database_request(scope, databases) -> bool:
    path = scope.get("path", "")
    if path.startswith(_STATIC_PREFIXES):
        return False
    first = path.lstrip("/").split("/", 1)[0]
    return first.split(".", 1)[0] in databases or b"sql=" in scope.get("query_string", b"")


async def _refuse(send, status: int, text: str, retry: bool) -> None:
    """A plain-text refusal with the site's security headers, sent by the plugin that defines them
    (plugins load in no fixed order, so a refusal sent here may not pass through its wrapper)."""
    from datasette.plugins import pm

    await pm.get_plugin("veeam_security.py")._reject(send, status, text, ((b"retry-after", b"1"),) if retry else ())


def _capped(send):
    """`send` with the response body bounded: a whole body over the cap becomes a 413 answer; a
    streamed one stops at the cap with a last line saying it was cut."""
    state = {"start": None, "sent": 0, "done": False}

    async def capped(message):
        if state["done"]:
            return
        if message["type"] == "http.response.start":
            state["start"] = message  # held until the first body part shows how large it is
            return
        if message["type"] != "http.response.body":
            return await send(message)
        body, more = message.get("body", b""), message.get("more_body", False)
        if state["start"] is not None:
            start, state["start"] = state["start"], None
            if not more and len(body) > MAX_RESPONSE_BYTES:
                state["done"] = True
                return await _refuse(send, 413, f"The response is over {MAX_RESPONSE_BYTES:,} bytes, "
                                                "the most this site sends: ask for fewer rows.\n", False)
            await send(start)
        if state["sent"] + len(body) > MAX_RESPONSE_BYTES:
            state["done"] = True
            cut = f"\n(cut at {MAX_RESPONSE_BYTES:,} bytes, the most this site sends)\n".encode()
            return await send({"type": "http.response.body", "body": body[:MAX_RESPONSE_BYTES - state["sent"]]
                               + cut, "more_body": False})
        state["sent"] += len(body)
        await send(message)

    return capped


def sql_limits_middleware(app, databases):
    running = InFlight(MAX_SQL_REQUESTS_PER_CLIENT, MAX_SQL_REQUESTS)

    async def wrapped(scope, receive, send):
        if scope["type"] != "http" or not _is_database_request(scope, databases()):
            return await app(scope, receive, send)
        client = (scope.get("client") or ("unknown",))[0]
        refusal = running.refusal(client)
        if refusal == "client":
            return await _refuse(send, 429, f"At most {MAX_SQL_REQUESTS_PER_CLIENT} database requests at a "
                                            "time from one client: wait for one to finish.\n", True)
        if refusal == "total":
            return await _refuse(send, 503, "The site is answering as many database requests as it can: "
                                            "try again in a moment.\n", True)
        with running.held(client):
            await app(scope, receive, _capped(send))

    return wrapped


@hookimpl
def asgi_wrapper(datasette):
    return lambda app: sql_limits_middleware(app, lambda: datasette.databases)
