// Sums vitest's JSON reports of every run and prints the closing line. A file-level failure (an
// afterAll that finds leftover processes, a suite that fails to load) counts as one failed test, and
// on CI a skipped test is a failure too: CI is root on Linux, where nothing should skip. A run named on
// the command line that left no report at all (it could not start, or crashed) also counts as one.
// Every failure is listed with its run, so a test that fails only in one place says where.
// Usage: node tally.mjs REPORT_DIR [RUN...]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const [dir, ...expected] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
const runs = readdirSync(dir);
for (const run of expected) {
  if (!runs.includes(run) || readdirSync(join(dir, run)).length === 0) {
    failed += 1;
    console.log(`${run}: no report: the run did not start or did not finish`);
  }
}
for (const run of runs) {
  for (const file of readdirSync(join(dir, run))) {
    const report = JSON.parse(readFileSync(join(dir, run, file), 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    for (const suite of report.testResults) {
      const name = existsSync(suite.name) ? relative(process.cwd(), suite.name) : suite.name;
      const failures = suite.assertionResults.filter((test) => test.status === 'failed');
      for (const test of failures) console.log(`${run}: FAIL ${[name, ...test.ancestorTitles, test.title].join(' > ')}`);
      if (suite.status === 'failed' && failures.length === 0) {
        failed += 1;
        console.log(`${run}: FAIL ${name}: ${suite.message.split('\n')[0]}`);
      }
    }
  }
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 || (skipped > 0 && process.env.CI === 'true') || passed === 0 ? 1 : 0;
