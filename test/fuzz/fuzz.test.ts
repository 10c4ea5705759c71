/**
 * The fuzz harness (scripts/fuzz.mjs, `npm run fuzz`) in `npm test`: a fixed seed and a fixed budget of
 * mutated inputs per parser family, and a replay of every failing input ever saved under
 * test/fixtures/fuzz/<parser>/. Every parser is total and bounded (DESIGN.md): a value or a CustodyError
 * with a one-line bounded message, never another exception, and never a second or more.
 *
 * Families listed in test/fixtures/fuzz/allow-list.json are reported, not failed (work in progress on
 * another branch); the list is printed so that it stays visible.
 */
import assert from 'node:assert/strict';
// @ts-expect-error: a plain ES module without type declarations
import { PARSERS, check, replayFixtures, reportOnlyParsers, runFuzz, seedsOf } from '../../scripts/fuzz.mjs';

type Failure = { kind: string; problem: string; file?: string };

/** The seed of `npm test`'s run: change it only together with the budgets below. */
const SEED = 19;
/** Inputs per parser: the YAML families parse about ten times slower than the others. */
const BUDGET: Record<string, number> = Object.fromEntries(
  Object.keys(PARSERS).map((p) => [p, ['workflows', 'policies', 'templates', 'codePolicies'].includes(p) ? 1_000 : 2_000]),
);

describe('fuzz harness (scripts/fuzz.mjs)', function () {
  this.timeout(300_000);
  const reportOnly: Record<string, string> = reportOnlyParsers();

  function split<T extends { parser: string }>(items: T[]): { failing: T[]; reported: T[] } {
    return { failing: items.filter((i) => !reportOnly[i.parser]), reported: items.filter((i) => reportOnly[i.parser]) };
  }

  it('has seeds for every parser family, and each seed is accepted', () => {
    for (const parser of Object.keys(PARSERS)) {
      const seeds = seedsOf(parser) as Uint8Array[];
      assert.ok(seeds.length > 0, `${parser} has seeds`);
      for (const seed of seeds) assert.equal(check(parser, seed), undefined, `${parser}: a seed fails the harness's check`);
    }
  });

  it('replays every saved failing input: each now gives a value or a CustodyError, in time', () => {
    const results = (replayFixtures() as Array<{ parser: string; file: string; failure?: Failure }>).filter((r) => r.failure);
    const { failing, reported } = split(results);
    for (const r of reported) console.log(`      reported only (${reportOnly[r.parser]}): ${r.file}: ${r.failure!.kind}: ${r.failure!.problem}`);
    assert.deepEqual(
      failing.map((r) => `${r.file}: ${r.failure!.kind}: ${r.failure!.problem}`),
      [],
    );
  });

  it(`seed ${SEED}, 2,000 inputs per parser (1,000 per YAML parser): only CustodyErrors escape, none slower than 1 s`, () => {
    const results = runFuzz({ seed: SEED, inputsPerParser: BUDGET, saveFailures: false }) as Array<{ parser: string; inputs: number; failures: Failure[] }>;
    assert.deepEqual(
      results.map((r) => r.parser),
      Object.keys(PARSERS),
    );
    for (const r of results) assert.equal(r.inputs, BUDGET[r.parser]);
    const { failing, reported } = split(results.filter((r) => r.failures.length > 0));
    for (const r of reported) for (const f of r.failures) console.log(`      reported only (${reportOnly[r.parser]}): ${r.parser}: ${f.kind}: ${f.problem}`);
    assert.deepEqual(
      failing.flatMap((r) => r.failures.map((f) => `${r.parser}: ${f.kind}: ${f.problem}`)),
      [],
    );
  });
});
