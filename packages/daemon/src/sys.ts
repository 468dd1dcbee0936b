/** @x/sys, loaded on first need: the fast path of daemonize() never needs it. */
let loaded: typeof import('@x/sys') | undefined;

export async function loadSys(): Promise<typeof import('@x/sys')> {
  loaded ??= await import('@x/sys');
  return loaded;
}

/** @x/sys if it is loaded already. */
export const sysIfLoaded = (): typeof import('@x/sys') | undefined => loaded;
