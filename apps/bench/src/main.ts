import { fileURLToPath } from 'node:url';
import { runScenario } from './harness.js';
import { loadReport, machine, writeReport, type Report } from './report.js';
import { debianVersion } from './debian.js';
import { allScenarios, measuredDebianPackages, measuredPackages } from './scenarios/index.js';
import { versionOf } from './versions.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const usage = 'usage: pnpm bench [--list] [--quick] [scenario-id ...]';

async function main(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const ids = argv.filter((arg) => !arg.startsWith('--'));
  const unknownFlag = argv.find((arg) => arg.startsWith('--') && arg !== '--quick' && arg !== '--list');
  const scenarios = allScenarios();
  if (unknownFlag !== undefined) {
    process.stderr.write(`unknown option ${unknownFlag}\n${usage}\n`);
    return 2;
  }
  if (argv.includes('--list')) {
    for (const scenario of scenarios) process.stdout.write(`${scenario.id.padEnd(24)} ${scenario.title}\n`);
    return 0;
  }
  const unknown = ids.filter((id) => !scenarios.some((scenario) => scenario.id === id));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario ${unknown.join(', ')}; \`pnpm bench --list\` shows them\n`);
    return 2;
  }
  const selected = ids.length === 0 ? scenarios : scenarios.filter((scenario) => ids.includes(scenario.id));
  const jsonPath = `${root}BENCHMARKS.json`;
  const report: Report = loadReport(jsonPath);
  const versions: Record<string, string> = Object.fromEntries([
    ...measuredPackages.map((name): [string, string] => [name, versionOf(name)]),
    ...measuredDebianPackages.map((name): [string, string] => [`${name} (Debian)`, debianVersion(name)]),
  ]);
  for (const scenario of selected) {
    process.stdout.write(`${scenario.id}: ${scenario.title}\n`);
    const run = quick ? { ...scenario, trials: Math.min(scenario.trials, 5), warmup: Math.min(scenario.warmup, 1) } : scenario;
    const result = await runScenario(run, (line) => process.stdout.write(`${line}\n`));
    for (const contender of result.contenders) {
      const figure = contender.summary
        ? `median ${contender.summary.median.toFixed(3)} p99 ${contender.summary.p99.toFixed(3)} ${result.unit}`
        : (contender.unavailable ?? contender.error ?? '');
      process.stdout.write(`  ${contender.name.padEnd(40)} ${figure}\n`);
    }
    if (!quick) report.scenarios[scenario.id] = { ...result, date: new Date().toISOString(), machine: machine(), versions };
  }
  if (!quick) {
    writeReport(report, scenarios.map((scenario) => scenario.id), jsonPath, `${root}BENCHMARKS.md`);
    process.stdout.write(`wrote ${root}BENCHMARKS.md\n`);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
