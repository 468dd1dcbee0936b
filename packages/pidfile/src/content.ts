/** The largest pid Linux can hand out (pid_max tops out at 2^22). */
export const PID_MAX = 4_194_304;

/** A PID file is a few bytes; anything longer is not one and is not read further. */
export const MAX_CONTENT = 64;

export type ParsedContent = { pid: number } | { invalid: string };

/**
 * Parses PID file content: a positive decimal pid, optionally surrounded by ASCII whitespace (the
 * standard "<pid>\n"; systemd and start-stop-daemon accept the same). Never guesses: anything else is
 * reported as invalid with the reason.
 */
export function parsePidFile(content: string): ParsedContent {
  if (content.length === 0) return { invalid: 'the file is empty' };
  if (content.length > MAX_CONTENT) return { invalid: `the file is longer than ${MAX_CONTENT} bytes` };
  const trimmed = content.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  if (trimmed.length === 0) return { invalid: 'the file holds only whitespace' };
  if (!/^\d+$/.test(trimmed)) return { invalid: `the content is not a number: ${JSON.stringify(trimmed.slice(0, 20))}` };
  const pid = Number(trimmed);
  if (pid === 0 || /^0/.test(trimmed)) return { invalid: `${trimmed} is not a valid pid` };
  if (pid > PID_MAX) return { invalid: `${trimmed} is larger than any pid (${PID_MAX})` };
  return { pid };
}

/** The standard content for a pid. */
export const formatPid = (pid: number): string => `${pid}\n`;

/** Checks a pid given by a caller (acquire's `pid`, update()). */
export function isValidPid(pid: number): boolean {
  return Number.isInteger(pid) && pid > 0 && pid <= PID_MAX;
}
