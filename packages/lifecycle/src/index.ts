export * as sys from '@x/sys';
export * as parentdeath from '@x/parentdeath';
export * as pidfile from '@x/pidfile';
export * as procgroup from '@x/procgroup';
export * as reaper from '@x/reaper';
export * as daemon from '@x/daemon';

export { capabilities } from '@x/sys';
export { beParent, monitor } from '@x/parentdeath';
export { acquire, adopt, read, signal, waitForExit, defaultPath } from '@x/pidfile';
export { killTree, spawnGroup } from '@x/procgroup';
export { reap, runForked } from '@x/reaper';
export { daemonize, notify, stage } from '@x/daemon';
