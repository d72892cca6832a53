"""The production settings plus one URL module with a bare signed-in view (the pages' baseline)."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
