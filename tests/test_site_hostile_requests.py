"""Hostile requests the site answers with 4xx and its security headers, never a 500: ids too long
for Python's int(), multipart bodies (with a CSRF cookie, which once reached an incompatible
python-multipart inside asgi-csrf)."""

import re

import pytest

pytestmark = pytest.mark.anyio
MULTIPART = (b'--XX\r\nContent-Disposition: form-data; name="csrftoken"\r\n\r\nabc\r\n'
             b'--XX\r\nContent-Disposition: form-data; name="policy"; filename="p.json"\r\n'
             b'Content-Type: application/json\r\n\r\n{"Statement": []}\r\n--XX--\r\n')


def has_security_headers(response) -> bool:
    return "default-src 'self'" in response.headers.get("content-security-policy", "") and \
        response.headers.get("x-content-type-options") == "nosniff"


@pytest.mark.parametrize("path", ["/operations/{}", "/operations/{}.json", "/operations/{}/policy/json",
                                  "/permissions/{}", "/permissions/{}.csv", "/catalog/pages/{}",
                                  "/catalog/operations/{}.json"])
@pytest.mark.parametrize("digits", [20, 4301, 5000])
async def test_ids_too_long_for_any_row_are_404(client, path, digits):
    response = await client.get(path.format("7" * digits))
    assert response.status_code == 404, response.text[:300]
    assert has_security_headers(response)


@pytest.mark.parametrize("path", ["/upgrade/vbaws/policy/aws?part={}", "/products/vbaws?page={}",
                                  "/products/vbaws/policy/aws?id=1&part={}", "/products/vbaws?id={}",
                                  "/search?q=ec2&page={}"])
@pytest.mark.parametrize("digits", [19, 4301, 5000])
async def test_long_numbers_in_query_arguments_are_no_server_error(client, path, digits):
    response = await client.get(path.format("7" * digits))
    assert response.status_code in (200, 404), response.text[:300]
    assert has_security_headers(response)


@pytest.mark.parametrize("path", ["/upgrade/vbaws?from={}&to=latest", "/upgrade/vbaws.json?from=9.0.0.100&to={}",
                                  "/changes/vbaws?from={}", "/products/vbaws/policy?build={}&id=1"])
async def test_a_5000_character_build_is_cut_to_100_before_it_is_looked_up_or_echoed(client, path):
    response = await client.get(path.format("7" * 5000))
    assert response.status_code in (200, 400, 404), response.text[:300]
    assert "7" * 101 not in response.text and "7" * 100 in response.text
    assert has_security_headers(response)


@pytest.mark.parametrize("path", ["/check", "/catalog", "/", "/-/permissions", "/catalog/pages",
                                  "/upgrade/vbaws"])
@pytest.mark.parametrize("cookie", [True, False], ids=["csrf-cookie", "no-cookie"])
async def test_a_multipart_post_is_refused_in_4xx_with_the_security_headers(client, path, cookie):
    response = await client.post(path, content=MULTIPART,
                                 headers={"content-type": "multipart/form-data; boundary=XX"},
                                 cookies={"ds_csrftoken": "abc"} if cookie else {})
    assert response.status_code == 415
    assert response.text == "The site takes no multipart form data; send application/x-www-form-urlencoded.\n"
    assert has_security_headers(response)


async def test_the_check_form_still_takes_its_urlencoded_post(client):
    page = await client.get("/check")
    token = re.search(r'name="csrftoken" value="([^"]+)"', page.text).group(1)
    response = await client.post("/check", data={"csrftoken": token, "product": "vbaws", "policy": "{}"},
                                 cookies={"ds_csrftoken": page.cookies.get("ds_csrftoken")})
    assert response.status_code in (200, 400), response.text[:300]
    assert has_security_headers(response)
