import { UnsupportedPlatformError } from './errors.js';

const posix = process.platform === 'linux' || process.platform === 'darwin';

/** Throws ERR_X_UNSUPPORTED_PLATFORM where the C library is not a POSIX one we bind. */
export function requirePosix(feature: string): void {
  if (!posix) throw new UnsupportedPlatformError(feature, 'Linux or macOS');
}

/** Throws ERR_X_UNSUPPORTED_PLATFORM unless running on Linux. */
export function requireLinux(feature: string): void {
  if (process.platform !== 'linux') throw new UnsupportedPlatformError(feature, 'Linux');
}
