// watchdog.sh is bundled as text (rolldown's module type 'text', set in package.json's build script).
declare const source: string;
export default source;
