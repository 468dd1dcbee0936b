/** When to end a group besides terminate(): spawnGroup's `signal` and `timeout`, as in child_process. */
export interface EndOn {
  /** `signal` aborted (also when it already had): gets the AbortError child_process would emit. */
  aborted(error: Error): void;
  /** `timeout` ms passed since the spawn. */
  timedOut(): void;
}

/** Calls `on.aborted` when `abortSignal` aborts and `on.timedOut` after `timeout` ms (unref'd); returns what stops both. */
export function endOn(abortSignal: AbortSignal | undefined, timeout: number | undefined, on: EndOn): () => void {
  const cleanups: (() => void)[] = [];
  if (abortSignal !== undefined) {
    const onAbort = () => {
      on.aborted(abortError(abortSignal.reason));
    };
    if (abortSignal.aborted) {
      process.nextTick(onAbort);
    } else {
      abortSignal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => {
        abortSignal.removeEventListener('abort', onAbort);
      });
    }
  }
  if (timeout !== undefined) {
    const timer = setTimeout(() => {
      on.timedOut();
    }, timeout).unref();
    cleanups.push(() => {
      clearTimeout(timer);
    });
  }
  return () => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  };
}

function abortError(reason: unknown): Error {
  return Object.assign(new Error('The operation was aborted', { cause: reason }), { name: 'AbortError', code: 'ABORT_ERR' });
}
