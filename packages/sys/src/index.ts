export { SystemError, XError, UnsupportedPlatformError } from './errors.js';
export { InvalidSignalError, signalExitCode, signalName, signalNumber, type SignalLike } from './signals.js';
export { decodeWaitStatus, peekEndedChild, waitpid, type WaitResult, type WaitStatus } from './wait.js';
export { getParentDeathSignal, isChildSubreaper, setChildSubreaper, setParentDeathSignal } from './prctl.js';
export { flock, type FlockMode } from './flock.js';
export { close, linkOpenFile, pipe, renameNoReplace, type PipeOptions } from './fd.js';
export { pidfdOpen, pidfdSendSignal } from './pidfd.js';
export { getpgid, getppid, getsid, setsid } from './session.js';
export { execvp } from './exec.js';
export {
  bootTime,
  childrenOf,
  clockTicksPerSecond,
  descendantsOf,
  hasChildrenLists,
  listProcesses,
  parseChildrenList,
  parseProcStat,
  parseUptime,
  processState,
  readProcFile,
  readProcStat,
  startDateOf,
  startTimeOf,
  type ProcessState,
  type ProcStat,
} from './proc.js';
export { locateOwnCgroup, ownCgroup, parseCgroupV2Path, parseMountInfo, type CgroupLocation, type MountEntry } from './cgroup.js';
export { bindUnixDatagram, receiveUnixDatagram, sendUnixDatagram, unixAddress } from './unix-datagram.js';
export { holdsFlock, listedFlocks, parseLockLines, splitDevice, superblockDevice, type FileIdentity, type LockEntry } from './locks.js';
export { cgroupKillSupport, type CgroupKillSupport } from './cgroup-kill.js';
export { capabilities, type Capabilities, type Capability } from './capabilities.js';
export { requireLinux, requirePosix } from './platform.js';
export { CliExit, EXIT_USAGE, LSB_STATUS, parseCommandLine, parseSeconds, parseSignal, readVersion, runCli, shellMessage, UsageError, type Cli, type CommandLine } from './cli-args.js';
