// Preloaded (node --import) into a process that should look as if it ran on another platform. It
// checks the packages' OWN platform branches — what they do when process.platform is 'darwin' or
// 'win32' and the C library lacks Linux-only symbols — not macOS or Windows themselves: the kernel
// underneath is still Linux. Configured by the environment:
//   X_SIM_PLATFORM   the platform to report ('darwin', 'win32'); unset keeps the real one
//   X_SIM_KOFFI      koffi's entry file, patched before the platform changes (koffi picks its native
//                    binary by the real platform, so it is loaded first)
//   X_SIM_LIBRARIES  comma-separated C library names that "exist": each loads the real C library;
//                    any other name fails as a missing file would. Unset: darwin's libSystem only.
//   X_SIM_TRACE      print each library name tried to stderr, as "x-sim: load <name>"
import { createRequire } from 'node:module';

const platform = process.env.X_SIM_PLATFORM;
const koffiPath = process.env.X_SIM_KOFFI;
// What macOS's libSystem lacks of what @x binds: Linux-only calls.
const LINUX_ONLY = new Set(['prctl', 'pipe2', 'syscall', 'pidfd_open', 'pidfd_send_signal', 'renameat2', 'signalfd', 'epoll_create1']);

if (koffiPath) {
  const koffi = createRequire(import.meta.url)(koffiPath);
  const realLoad = koffi.load.bind(koffi);
  const existing = new Set((process.env.X_SIM_LIBRARIES ?? '/usr/lib/libSystem.B.dylib').split(',').filter(Boolean));
  koffi.load = (name, ...rest) => {
    if (process.env.X_SIM_TRACE) process.stderr.write(`x-sim: load ${name}\n`);
    if (!existing.has(name)) throw new Error(`${name}: cannot open shared object file: No such file or directory`);
    const library = realLoad('libc.so.6', ...rest);
    if (platform !== 'darwin') return library;
    return new Proxy(library, {
      get(target, property) {
        if (property !== 'func') return Reflect.get(target, property);
        return (definition, ...more) => {
          const symbol = /([A-Za-z_][A-Za-z0-9_]*)\s*\(/.exec(String(definition))?.[1];
          if (symbol !== undefined && LINUX_ONLY.has(symbol)) throw new Error(`Cannot find function '${symbol}' in shared library`);
          return target.func(definition, ...more);
        };
      },
    });
  };
}

if (platform) Object.defineProperty(process, 'platform', { value: platform, enumerable: true, configurable: true });
