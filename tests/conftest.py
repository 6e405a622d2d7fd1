import pytest


def pytest_addoption(parser):
    parser.addoption("--regen-golden", action="store_true",
                     help="Rewrite tests/expected/*.json from the current parser output.")


@pytest.fixture
def regen_golden(request):
    return request.config.getoption("--regen-golden")
