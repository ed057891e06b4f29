import os

import pytest
import torch
from hypothesis import settings

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
settings.register_profile("ci", max_examples=40, deadline=None, print_blob=True)  # random: new examples every run
settings.register_profile("dev", max_examples=40, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def tiny():
    """The tiny random-weight model of :func:`helpers.tiny_random_model`."""
    from helpers import tiny_random_model

    return tiny_random_model()
