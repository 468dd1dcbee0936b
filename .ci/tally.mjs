// Sums vitest's JSON reports of every run and prints the closing line. A file-level failure (an
// afterAll that finds leftover processes, a suite that fails to load) counts as one failed test, and
// on CI a skipped test is a failure too: CI is root on Linux, where nothing should skip.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const run of readdirSync(dir)) {
  for (const file of readdirSync(join(dir, run))) {
    const report = JSON.parse(readFileSync(join(dir, run, file), 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    for (const suite of report.testResults) {
      const failedInside = suite.assertionResults.some((test) => test.status === 'failed');
      if (suite.status === 'failed' && !failedInside) {
        failed += 1;
        console.log(`${run}: ${suite.name}: ${suite.message.split('\n')[0]}`);
      }
    }
  }
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 || (skipped > 0 && process.env.CI === 'true') || passed === 0 ? 1 : 0;
