import { monitor, ParentDeathEnvError, ParentDeathOptionError } from '@x/parentdeath';
import { describe, expect, it } from 'vitest';

const token = 'a'.repeat(64);
const never = () => {
  throw new Error('the callback must not run for a malformed environment');
};

describe('monitor with no variables', () => {
  it('resolves undefined and watches nothing', async () => {
    await expect(monitor(never, { env: {} })).resolves.toBeUndefined();
  });
});

describe('monitor with malformed variables', () => {
  it.each([
    ['address without session', { PARENTDEATH_ADDR: '127.0.0.1:4000' }, 'PARENTDEATH_SESSION'],
    ['session without address', { PARENTDEATH_SESSION: token }, 'PARENTDEATH_ADDR'],
    ['no port', { PARENTDEATH_ADDR: '127.0.0.1', PARENTDEATH_SESSION: token }, 'PARENTDEATH_ADDR'],
    ['empty port', { PARENTDEATH_ADDR: '127.0.0.1:', PARENTDEATH_SESSION: token }, 'PARENTDEATH_ADDR'],
    ['port 0', { PARENTDEATH_ADDR: '127.0.0.1:0', PARENTDEATH_SESSION: token }, 'PARENTDEATH_ADDR'],
    ['port out of range', { PARENTDEATH_ADDR: '127.0.0.1:65536', PARENTDEATH_SESSION: token }, 'PARENTDEATH_ADDR'],
    ['negative port', { PARENTDEATH_ADDR: '127.0.0.1:-1', PARENTDEATH_SESSION: token }, 'PARENTDEATH_ADDR'],
    ['port with garbage', { PARENTDEATH_ADDR: '127.0.0.1:80x', PARENTDEATH_SESSION: token }, 'PARENTDEATH_ADDR'],
    ['unbracketed IPv6', { PARENTDEATH_ADDR: '::1:4000', PARENTDEATH_SESSION: token }, 'PARENTDEATH_ADDR'],
    ['garbage', { PARENTDEATH_ADDR: '%%%', PARENTDEATH_SESSION: token }, 'PARENTDEATH_ADDR'],
    ['empty address', { PARENTDEATH_ADDR: '', PARENTDEATH_SESSION: token }, 'PARENTDEATH_ADDR'],
    ['a remote host', { PARENTDEATH_ADDR: '10.0.0.1:4000', PARENTDEATH_SESSION: token }, 'PARENTDEATH_ADDR'],
    ['a host name', { PARENTDEATH_ADDR: 'example.invalid:4000', PARENTDEATH_SESSION: token }, 'PARENTDEATH_ADDR'],
    ['empty token', { PARENTDEATH_ADDR: '127.0.0.1:4000', PARENTDEATH_SESSION: '' }, 'PARENTDEATH_SESSION'],
    ['token with a space', { PARENTDEATH_ADDR: '127.0.0.1:4000', PARENTDEATH_SESSION: 'ab cd' }, 'PARENTDEATH_SESSION'],
    ['token with a newline', { PARENTDEATH_ADDR: '127.0.0.1:4000', PARENTDEATH_SESSION: 'ab\ncd' }, 'PARENTDEATH_SESSION'],
    ['oversized token', { PARENTDEATH_ADDR: '127.0.0.1:4000', PARENTDEATH_SESSION: 'x'.repeat(513) }, 'PARENTDEATH_SESSION'],
  ])('rejects %s with ERR_PARENTDEATH_BAD_ENV naming the variable', async (_, env, variable) => {
    const error: unknown = await monitor(never, { env }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ParentDeathEnvError);
    expect(error).toMatchObject({ code: 'ERR_PARENTDEATH_BAD_ENV', variable });
    expect((error as Error).message).toContain(variable);
  });

  it('rejects bad arguments before looking at the environment', async () => {
    await expect(monitor(undefined as unknown as () => void, { env: {} })).rejects.toThrow(TypeError);
    await expect(monitor(never, { env: {}, handshakeTimeout: 0 })).rejects.toThrow(RangeError);
    await expect(monitor(never, { env: {}, signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('monitor with a handshakeTimeout out of range', () => {
  it.each([
    ['above the longest timer Node runs (2^31 ms), which Node would fire after 1 ms', 2 ** 31],
    ['a year', 365 * 24 * 3600 * 1000],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['NaN', Number.NaN],
    ['negative', -1],
    ['zero', 0],
    ['not a whole number', 1.5],
    ['a string', '5000'],
  ])('rejects %s with ERR_PARENTDEATH_BAD_OPTION', async (_, handshakeTimeout) => {
    const error: unknown = await monitor(never, { env: {}, handshakeTimeout: handshakeTimeout as number }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ParentDeathOptionError);
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ code: 'ERR_PARENTDEATH_BAD_OPTION', option: 'handshakeTimeout' });
    expect((error as Error).message).toContain('2147483647');
  });

  it('accepts the whole range from 1 ms to 2^31 - 1 ms', async () => {
    await expect(monitor(never, { env: {}, handshakeTimeout: 1 })).resolves.toBeUndefined();
    await expect(monitor(never, { env: {}, handshakeTimeout: 2 ** 31 - 1 })).resolves.toBeUndefined();
  });
});
