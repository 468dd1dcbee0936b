import { processTestConfig } from '../../vitest.shared.ts';

export default processTestConfig(import.meta.dirname);
