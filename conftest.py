"""Environment for every test, notebooks included (their kernels inherit it)."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# Notebook kernels run in notebooks/: a relative folder (`export TIKTOKEN_CACHE_DIR=../shared/tiktoken`)
# is made absolute here, from where pytest was started, before any kernel starts.
_encodings = os.environ.get("TIKTOKEN_CACHE_DIR")
os.environ["TIKTOKEN_CACHE_DIR"] = (os.path.abspath(_encodings) if _encodings
                                    else str((ROOT / "../shared/tiktoken").resolve()))
for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID",
             "OPENAI_MAGICS_CACHE", "OPENAI_MAGICS_REPLAY", "OPENAI_MAGICS_OFFLINE", "OPENAI_MAGICS_BUDGET"):
    os.environ.pop(name, None)
