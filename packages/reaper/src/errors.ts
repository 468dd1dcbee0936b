import { XError } from '@x/sys';

export type ReaperErrorCode = 'ERR_REAPER_CHILDREN_LIST' | 'ERR_REAPER_NOT_MAIN_THREAD' | 'ERR_X_UNSUPPORTED_PLATFORM';

/** Every error of @x/reaper: a stable `code`, and the underlying error as `cause` where there is one. */
export class ReaperError extends XError<ReaperErrorCode> {}
Object.defineProperty(ReaperError.prototype, 'name', { value: 'ReaperError', configurable: true });
