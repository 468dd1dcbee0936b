import { createRequire } from 'node:module';

/**
 * @x/sys, loaded on first need: the fast path of daemonize() never needs it. Synchronously, through
 * require() of an ES module (Node >= 20.19), so that no module of ours needs a top-level await — which
 * would make @x/daemon impossible to require().
 */
let loaded: typeof import('@x/sys') | undefined;

export function loadSys(): typeof import('@x/sys') {
  loaded ??= createRequire(import.meta.url)('@x/sys') as typeof import('@x/sys');
  return loaded;
}
