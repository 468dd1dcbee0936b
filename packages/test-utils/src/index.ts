export { deadline, waitFor, type WaitForOptions } from './wait-for.js';
export {
  descendantsOf,
  groupOf,
  isAlive,
  isZombie,
  membersOfGroup,
  parentOf,
  pidExists,
  sessionOf,
  stateOf,
  flockFree,
} from './probes.js';
export { scratchDir } from './scratch.js';
export { Fixture, startFixture, started, type Exit, type FixtureOptions } from './fixtures.js';
export { markProcesses } from './guard.js';
export { isRoot, pidNamespaces, requirement, spawnInPidNamespace, type Requirement } from './namespace.js';
export { mountNamespaces, startSimulated, type Simulation } from './simulate.js';
export { binPath } from './bin.js';
export { makeFifo, openGate } from './fifo.js';
export { runsProgram, sampleProcesses, type Sampled } from './sample.js';
