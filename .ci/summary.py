"""Prints one closing line 'N passed, N failed, N skipped' from meson's
testlog.json (meson's own summary is not a format CI reads)."""
import json
import sys

counts = {"OK": 0, "FAIL": 0, "SKIP": 0, "TIMEOUT": 0, "EXPECTEDFAIL": 0,
          "UNEXPECTEDPASS": 0, "ERROR": 0}
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        counts[r["result"]] = counts.get(r["result"], 0) + 1
failed = counts["FAIL"] + counts["TIMEOUT"] + counts["ERROR"] + counts["UNEXPECTEDPASS"]
print("tests: %d passed, %d failed, %d skipped"
      % (counts["OK"] + counts["EXPECTEDFAIL"], failed, counts["SKIP"]))
