"""Environment for every test, notebooks included (their kernels inherit it)."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str((ROOT / "../shared/tiktoken").resolve()))
for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID",
             "OPENAI_MAGICS_CACHE", "OPENAI_MAGICS_REPLAY"):
    os.environ.pop(name, None)
