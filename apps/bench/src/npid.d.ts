// npid ships no types; the two calls the bench uses.
declare module 'npid' {
  interface Pid {
    remove(): boolean;
  }
  const npid: { create(path: string, force?: boolean): Pid; remove(path: string): boolean };
  export default npid;
}
