import { summarize, type Summary } from './stats.js';

/** One way of doing the thing a scenario measures: ours, a peer, or a built-in baseline. */
export interface Contender {
  readonly name: string;
  /** Exactly one contender per scenario is ours; ratios are relative to it. */
  readonly ours?: boolean;
  /** Set when the contender cannot run here; it is reported with this reason, never dropped. */
  readonly unavailable?: string;
  readonly setup?: () => Promise<void> | void;
  /** One trial; resolves the measured value in the scenario's unit. */
  readonly run: () => Promise<number> | number;
  readonly teardown?: () => Promise<void> | void;
  /** Extra facts reported beside the numbers (processes left alive, survives setsid, ...). */
  readonly notes?: () => string;
  /** Fewer trials than the scenario's, for a contender whose every trial is slow (a stale timeout). */
  readonly trials?: number;
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  /** What one sample is, e.g. "ns per call" or "ms from SIGKILL to callback". */
  readonly unit: string;
  readonly description: string;
  readonly trials: number;
  readonly warmup: number;
  readonly contenders: readonly Contender[];
  /** Where the scenario states a target, checked against ours. */
  readonly target?: string;
}

export interface ContenderResult {
  readonly name: string;
  readonly ours: boolean;
  readonly unavailable?: string;
  readonly error?: string;
  readonly summary?: Summary;
  /** ours' median / this median (>1: ours is faster when lower is better). */
  readonly ratio?: number;
  readonly notes?: string;
}

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  readonly description: string;
  readonly target?: string;
  readonly trials: number;
  readonly contenders: readonly ContenderResult[];
}

/**
 * Runs a scenario: warm-up rounds, then `trials` rounds in which every contender runs once, in an order
 * that rotates each round, so that drift in the machine's state spreads evenly over all of them.
 */
export async function runScenario(scenario: Scenario, log: (line: string) => void): Promise<ScenarioResult> {
  const runnable = scenario.contenders.filter((contender) => contender.unavailable === undefined);
  const samples = new Map<string, number[]>(runnable.map((contender) => [contender.name, []]));
  const errors = new Map<string, string>();
  for (const contender of runnable) await contender.setup?.();
  try {
    for (let round = 0; round < scenario.warmup + scenario.trials; round++) {
      const measured = round >= scenario.warmup;
      for (let index = 0; index < runnable.length; index++) {
        const contender = runnable[(index + round) % runnable.length] as Contender;
        if (errors.has(contender.name)) continue;
        if (measured && round - scenario.warmup >= (contender.trials ?? scenario.trials)) continue;
        try {
          const value = await contender.run();
          if (measured) samples.get(contender.name)?.push(value);
        } catch (error) {
          errors.set(contender.name, error instanceof Error ? error.message : String(error));
          log(`  ${contender.name}: failed: ${errors.get(contender.name) ?? ''}`);
        }
      }
    }
  } finally {
    for (const contender of runnable) await contender.teardown?.();
  }
  const oursName = scenario.contenders.find((contender) => contender.ours)?.name;
  const oursMedian = oursName === undefined ? undefined : summarize(samples.get(oursName) ?? []).median;
  const contenders = scenario.contenders.map((contender): ContenderResult => {
    const base = { name: contender.name, ours: contender.ours === true };
    if (contender.unavailable !== undefined) return { ...base, unavailable: contender.unavailable };
    const error = errors.get(contender.name);
    if (error !== undefined) return { ...base, error };
    const summary = summarize(samples.get(contender.name) ?? []);
    const notes = contender.notes?.();
    return {
      ...base,
      summary,
      ...(oursMedian === undefined ? {} : { ratio: summary.median / oursMedian }),
      ...(notes === undefined ? {} : { notes }),
    };
  });
  return {
    id: scenario.id,
    title: scenario.title,
    unit: scenario.unit,
    description: scenario.description,
    trials: scenario.trials,
    contenders,
    ...(scenario.target === undefined ? {} : { target: scenario.target }),
  };
}
