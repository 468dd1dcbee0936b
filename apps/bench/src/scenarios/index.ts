import type { Scenario } from '../harness.js';
import { syscallScenarios } from './syscall.js';

/** Every scenario, in the order BENCHMARKS.md lists them. */
export const allScenarios = (): Scenario[] => [...syscallScenarios()];

/** Packages whose versions every report names (ours and the peers installed for the bench). */
export const measuredPackages = ['@x/sys'];
