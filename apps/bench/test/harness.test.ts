import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/harness.js';
import { renderMarkdown } from '../src/report.js';
import { quantile, summarize } from '../src/stats.js';

describe('statistics', () => {
  it.each([
    [[1], 0.5, 1],
    [[1, 3], 0.5, 2],
    [[1, 2, 3, 4, 5], 0.5, 3],
    [[1, 2, 3, 4, 5], 0.99, 4.96],
  ])('quantile(%j, %d) is %d', (values, q, expected) => {
    expect(quantile(values, q)).toBeCloseTo(expected, 10);
  });

  it('has no quantile of nothing', () => {
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('summarizes unsorted samples', () => {
    expect(summarize([5, 1, 3])).toEqual({ samples: 3, median: 3, p99: 4.96, min: 1, max: 5 });
  });
});

describe('runScenario', () => {
  it('alternates contenders round by round, reports the unavailable, and keeps failures per contender', async () => {
    const order: string[] = [];
    const result = await runScenario(
      {
        id: 'demo',
        title: 'Demo',
        unit: 'ms',
        description: 'test',
        trials: 3,
        warmup: 1,
        contenders: [
          { name: 'ours', ours: true, run: () => (order.push('ours'), 2) },
          { name: 'peer', run: () => (order.push('peer'), 6) },
          { name: 'broken', run: () => { throw new Error('no such binary'); } },
          { name: 'absent', unavailable: 'not packaged for this platform', run: () => 0 },
        ],
      },
      () => undefined,
    );
    // Rotation: every contender goes first in some round.
    expect(order.slice(0, 2)).toEqual(['ours', 'peer']);
    expect(order.slice(2, 4)).toEqual(['peer', 'ours']);
    expect(order).toHaveLength(8);
    const [ours, peer, broken, absent] = result.contenders;
    expect(ours?.summary?.samples).toBe(3);
    expect(peer?.ratio).toBe(3);
    expect(broken?.error).toBe('no such binary');
    expect(absent?.unavailable).toBe('not packaged for this platform');
    const markdown = renderMarkdown(
      { scenarios: { demo: { ...result, date: '2026-01-01T00:00:00Z', machine: { cpu: 'cpu', cores: 2, memoryGiB: 4, kernel: 'Linux', node: 'v20' }, versions: { '@x/sys': '0.0.0' } } } },
      ['demo'],
    );
    expect(markdown).toContain('| peer | 6.00 | 6.00 | 3.00× |');
    expect(markdown).toContain('| absent | n/a | n/a | | could not run here: not packaged for this platform |');
  });
});
