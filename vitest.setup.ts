import { markProcesses } from '@x/test-utils';
import { afterAll } from 'vitest';

// Every test file must leave no process behind: find what it left, kill it, and fail the file.
const leftovers = markProcesses();
afterAll(async () => {
  const left = await leftovers();
  if (left.length > 0) throw new Error(`test file left processes running (now killed):\n  ${left.join('\n  ')}`);
});
