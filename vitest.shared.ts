import { basename, join } from 'node:path';
import { defineProject } from 'vitest/config';

// Process tests spawn real children; generous timeouts, one worker per core, and a JSON report
// per package when CI asks for one (it sums the counts over the Node matrix).
export function processTestConfig(packageDir: string) {
  const reportDir = process.env.X_TEST_REPORT_DIR;
  return defineProject({
    test: {
      include: ['test/**/*.test.ts'],
      setupFiles: [join(import.meta.dirname, 'vitest.setup.ts')],
      testTimeout: 30_000,
      hookTimeout: 30_000,
      pool: 'forks',
      ...(reportDir
        ? {
            reporters: ['default', 'json'],
            outputFile: { json: `${reportDir}/${basename(packageDir)}.json` },
          }
        : {}),
    },
  });
}
