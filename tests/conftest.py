import os
import sys
from pathlib import Path

import torch
from hypothesis import settings

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
settings.register_profile("ci", max_examples=40, deadline=None, print_blob=True)  # random: new examples every run
settings.register_profile("dev", max_examples=40, deadline=None)
sys.path.insert(0, str(Path(__file__).parent))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
