import { configDefaults, mergeConfig } from 'vitest/config';
import { processTestConfig } from '../../vitest.shared.ts';

// The systemd checks boot a container: CI's systemd stage runs them once (.ci/systemd/run sets
// X_TEST_SYSTEMD=1); the suite's other runs leave the file out rather than skip it.
const systemd = process.env.X_TEST_SYSTEMD === '1' ? [] : ['test/systemd.test.ts'];
export default mergeConfig(processTestConfig(import.meta.dirname), { test: { exclude: [...configDefaults.exclude, ...systemd] } });
