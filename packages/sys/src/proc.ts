// The /proc readers, one file per concern: a process's stat, its children, and time since boot.
export { isGone, parseProcStat, processState, readProcFile, readProcStat, type ProcessState, type ProcStat } from './stat.js';
export { childrenOf, descendantsOf, hasChildrenLists, listProcesses, parseChildrenList } from './children.js';
export { bootTime, clockTicksPerSecond, parseUptime, startDateOf, startTimeOf } from './time.js';
