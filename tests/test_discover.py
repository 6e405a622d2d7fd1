import pytest

from catalog.storage.versions import label_key
from catalog.urls import canonicalize, parse_url, version_sort_key
from pipeline.fetch.blocked import blocked_reason
from pipeline.fetch.discover import ConfigError, extract_links, helpcenter_url, in_scope, load_products
from pipeline.parse.page import is_markdown

BASE = "https://helpcenter.veeam.com"


def test_packaged_configuration_has_every_product():
    products = load_products()
    assert list(products) == ["vbaws", "vbazure", "vbgc", "vbr", "vbo365", "vdc", "agentforwindows", "vro"]
    assert all(product.entry for product in products.values())


def test_configuration_errors_name_the_product():
    with pytest.raises(ConfigError, match=r"\[products.vbx\] lacks entry"):
        load_products('[products.vbx]\nname = "X"\n')


def test_canonical_urls_drop_tracking_and_fragments_but_keep_ver():
    assert canonicalize("HTTPS://HelpCenter.veeam.com/docs/vbr/userguide/x.html?ck=1&ver=13&ad=in#top") \
        == "https://helpcenter.veeam.com/docs/vbr/userguide/x.html?ver=13"


def test_product_renames_map_to_one_product():
    assert parse_url(f"{BASE}/docs/backup/vsphere/x.html?ver=95").product == "vbr"
    assert parse_url(f"{BASE}/docs/vbgcp/guide/x.html").product == "vbgc"
    assert parse_url(f"{BASE}/archive/vbaws/6a/guide/x.html").version_label == "6a"


def test_version_labels_sort_as_versions():
    labels = ["9", "60", "6a", "21", "8.1", "6"]
    assert sorted(labels, key=version_sort_key) == ["6", "6a", "8.1", "9", "21", "60"]
    assert sorted(labels, key=label_key) == sorted(labels, key=version_sort_key)


def test_links_are_absolute_canonical_and_scoped():
    html = ('<a href="role_permissions_repo.html?ck=3">a</a><a href="/docs/vbaws/guide/overview.html">b</a>'
            '<a href="iam_permissions.html?ver=9#x">c</a><a href="https://example.com/">d</a>'
            '<a href="/archive/vbaws/9/guide/iam_permissions.html">e</a><a href="mailto:x@y">f</a>')
    page = f"{BASE}/docs/vbaws/guide/iam_permissions.html"
    links = extract_links(html, page)
    product = load_products()["vbaws"]
    assert [link for link in links if in_scope(link, product, BASE)] == [
        f"{BASE}/docs/vbaws/guide/role_permissions_repo.html",
        f"{BASE}/docs/vbaws/guide/iam_permissions.html?ver=9",
        f"{BASE}/archive/vbaws/9/guide/iam_permissions.html",
    ]


def test_mirror_urls_map_back_to_the_helpcenter():
    assert helpcenter_url("http://127.0.0.1:8765/docs/vbr/userguide/x.html?ver=13",
                          "http://127.0.0.1:8765", BASE) == f"{BASE}/docs/vbr/userguide/x.html?ver=13"


@pytest.mark.parametrize("body,reason", [
    (b"", "empty body"),
    (b"<html><title>Just a moment...</title><body>wait</body></html>", "bot-check page instead of content"),
    (b"<html><body><script src='/cdn-cgi/challenge-platform/x.js'></script>" + b"text " * 500
     + b"</body></html>", "bot-check page instead of content"),
    (b"<html><body><div></div></body></html>", "page has almost no text (a shell or an error page)"),
])
def test_blocked_pages_are_recognised(body, reason):
    assert blocked_reason(body, "text/html") == reason


def test_documentation_that_mentions_access_denied_is_not_blocked():
    body = (b"<html><title>Troubleshooting</title><body><p>If you see Access Denied, grant the "
            b"permission below.</p>" + b"<p>More documentation text here.</p>" * 60 + b"</body></html>")
    assert blocked_reason(body, "text/html; charset=utf-8") is None


def test_a_products_toml_that_is_not_toml_is_refused_by_name():
    with pytest.raises(ConfigError) as error:
        load_products("[products.vbx\n")
    assert str(error.value).startswith("products.toml: Expected ']' at the end of a table declaration")


PAGE = "https://helpcenter.veeam.com/docs/vbaws/guide/iam_permissions.html"


@pytest.mark.parametrize("body", [
    b'---\ntitle: "IAM Permissions"\ncanonical: "https://helpcenter.veeam.com/docs/vbaws/guide/iam_permissions.html"'
    b'\n---\n\n# IAM Permissions\n',
    b"\xef\xbb\xbf---\r\ncanonical: https://helpcenter.veeam.com/docs/vbaws/guide/iam_permissions.html?ver=12\r\n---\r\n",
    b'---\nsource_url: "https://HELPCENTER.veeam.com/docs/vbaws/guide/iam_permissions.md"\n---\n',
])
def test_markdown_is_trusted_when_its_front_matter_names_the_page(body):
    assert is_markdown(body, PAGE)


@pytest.mark.parametrize("body", [
    b"<!DOCTYPE html><html><head><title>Page not found</title></head><body>404</body></html>",
    b"Please sign in to continue.\n\n[Sign in](/login)\n",
    b'---\ntitle: "Other"\ncanonical: "https://helpcenter.veeam.com/docs/vbaws/guide/other_page.html"\n---\n',
    b'---\ntitle: "Not found"\n---\n\n# Not found\n',
    b'---\ntitle: "unterminated"\ncanonical: "' + PAGE.encode() + b'"',
    b"\n".join([b"---"] + [b"x: y"] * 100 + [b"canonical: " + PAGE.encode(), b"---"]),
    b'---\ncanonical: "https://evil.example/docs/vbaws/guide/iam_permissions.html"\n---\n',
    b'---\ncanonical: "http://["\n---\n',
    b"",
])
def test_a_200_markdown_answer_that_does_not_name_the_page_is_not_markdown(body):
    assert not is_markdown(body, PAGE)
