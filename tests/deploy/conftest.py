"""One render of each variant of overlays/production (tests/deploy/render.py), shared by the tests."""
import pytest

from tests.deploy.render import VARIANTS, render


@pytest.fixture(params=list(VARIANTS), scope="module")
def variant(request, tmp_path_factory):
    name = request.param
    docs, text = render(tmp_path_factory.mktemp(name.replace("+", "-")), **VARIANTS[name])
    return name, docs, text
