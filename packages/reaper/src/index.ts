export { reap, Reaper, type Reaped, type ReapOptions } from './reap.js';
export { runForked, type RunForkedOptions } from './forked.js';
export { ReaperError, type ReaperErrorCode } from './errors.js';
