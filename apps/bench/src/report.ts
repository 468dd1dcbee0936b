import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import type { ContenderResult, ScenarioResult } from './harness.js';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
}

export interface ScenarioRecord extends ScenarioResult {
  readonly date: string;
  readonly machine: Machine;
  /** Versions of ours and of every peer measured, as installed. */
  readonly versions: Readonly<Record<string, string>>;
}

export interface Report {
  readonly scenarios: Record<string, ScenarioRecord>;
}

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: `Linux ${release()}`,
    node: process.version,
  };
}

export function loadReport(path: string): Report {
  if (!existsSync(path)) return { scenarios: {} };
  return JSON.parse(readFileSync(path, 'utf8')) as Report;
}

const number = (value: number) => {
  if (!Number.isFinite(value)) return '—';
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
};

function row(result: ContenderResult): string {
  const name = result.ours ? `**${result.name}**` : result.name;
  if (result.unavailable !== undefined) return `| ${name} | n/a | n/a | | could not run here: ${result.unavailable} |`;
  if (result.error !== undefined) return `| ${name} | failed | failed | | ${result.error} |`;
  const summary = result.summary;
  if (summary === undefined) return `| ${name} | — | — | | |`;
  const ratio = result.ours ? '1.00×' : result.ratio === undefined ? '' : `${number(result.ratio)}×`;
  return `| ${name} | ${number(summary.median)} | ${number(summary.p99)} | ${ratio} | ${result.notes ?? ''} |`;
}

/** Renders every scenario of the report as Markdown, in a stable order. */
export function renderMarkdown(report: Report, order: readonly string[]): string {
  const records = order.map((id) => report.scenarios[id]).filter((record) => record !== undefined);
  const lines = [
    '# Benchmarks',
    '',
    'Written by `pnpm bench`; do not edit by hand. Every table compares contenders measured in the same',
    'run, alternating between them round by round after a warm-up. "× ours" is the contender\'s median',
    'divided by ours (above 1: ours is faster). Reproduce one scenario with `pnpm bench <id>`.',
    '',
  ];
  for (const record of records) {
    const { machine: m } = record;
    lines.push(`## ${record.title} \`${record.id}\``, '', record.description, '');
    if (record.target !== undefined) lines.push(`Target: ${record.target}`, '');
    lines.push(
      `| contender | median (${record.unit}) | p99 (${record.unit}) | × ours | notes |`,
      '| --- | ---: | ---: | ---: | --- |',
      ...record.contenders.map(row),
      '',
      `${record.trials} trials on ${record.date.slice(0, 10)}; ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}; ` +
        Object.entries(record.versions)
          .map(([name, version]) => `${name} ${version}`)
          .join(', ') +
        '.',
      '',
    );
  }
  return lines.join('\n');
}

export function writeReport(report: Report, order: readonly string[], jsonPath: string, markdownPath: string): void {
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(markdownPath, renderMarkdown(report, order));
}
