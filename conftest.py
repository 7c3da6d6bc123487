"""Environment for every test, notebooks included (their kernels inherit it)."""
import atexit
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# Notebook kernels run in notebooks/: a relative folder (`export TIKTOKEN_CACHE_DIR=../shared/tiktoken`)
# is made absolute here, from where pytest was started, before any kernel starts.
_encodings = os.environ.get("TIKTOKEN_CACHE_DIR")
os.environ["TIKTOKEN_CACHE_DIR"] = (os.path.abspath(_encodings) if _encodings
                                    else str((ROOT / "../shared/tiktoken").resolve()))
# What outlives a kernel (batch, store, background-run and fine-tuning job ids, per endpoint) is kept in a folder
# of this run's own: an offline server of an earlier run on the same port, with the same job ids, would
# otherwise answer for this one (a fine-tuning job already charged there is not charged again here).
_jobs = tempfile.mkdtemp(prefix="openai-magics-test-jobs-")
atexit.register(shutil.rmtree, _jobs, ignore_errors=True)
for _name in ("BATCH", "STORE", "BACKGROUND", "FINETUNE"):
    os.environ[f"OPENAI_MAGICS_{_name}_DIR"] = os.path.join(_jobs, _name.lower())
for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID",
             "OPENAI_MAGICS_CACHE", "OPENAI_MAGICS_REPLAY", "OPENAI_MAGICS_OFFLINE", "OPENAI_MAGICS_BUDGET"):
    os.environ.pop(name, None)
