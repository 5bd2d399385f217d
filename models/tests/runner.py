"""Runs unittest modules and prints one JSON line per test case on stdout (test/models/toolkit.test.ts reads them;
library logs stay on stderr). ``python3 -m tests.runner tests.test_nets …``; exit status 1 when any case failed."""
import json
import sys
import unittest


class JsonResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.cases = []

    def _add(self, test, outcome, detail=""):
        self.cases.append({"name": f"{type(test).__name__}.{test._testMethodName}", "outcome": outcome, "detail": detail})

    def addSuccess(self, test):
        super().addSuccess(test)
        self._add(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._add(test, "FAIL", self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self._add(test, "ERROR", self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._add(test, "skipped", reason)


def main(names: list[str]) -> int:
    result = JsonResult()
    unittest.defaultTestLoader.loadTestsFromNames(names).run(result)
    for case in result.cases:
        print(json.dumps(case), flush=True)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
