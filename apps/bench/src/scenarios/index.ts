import type { Scenario } from '../harness.js';
import { daemonScenarios } from './daemon.js';
import { parentdeathScenarios } from './parentdeath.js';
import { pid1Scenarios } from './pid1.js';
import { pidfileScenarios } from './pidfile.js';
import { procgroupScenarios } from './procgroup.js';
import { reaperScenarios } from './reaper.js';
import { syscallScenarios } from './syscall.js';

/** Every scenario, in the order BENCHMARKS.md lists them. */
export const allScenarios = (): Scenario[] => [...syscallScenarios(), ...parentdeathScenarios(), ...pidfileScenarios(), ...procgroupScenarios(), ...reaperScenarios(), ...pid1Scenarios(), ...daemonScenarios()];

/** Packages whose versions every report names (ours and the peers installed for the bench). */
export const measuredPackages = ['@x/sys', '@x/parentdeath', '@x/pidfile', 'proper-lockfile', 'npid', '@x/procgroup', 'tree-kill', 'execa', '@x/reaper', '@x/daemon', 'daemon', 'daemonize2'];

/** Peers that come from Debian rather than npm, named with their Debian version. */
export const measuredDebianPackages = ['tini'];
