/**
 * The bounded-stage pipeline on its own, with stand-in stages: results and commits in input order, work in flight
 * bounded, a failing stage stopping the batch after the commit under way, a failing pool handing its pieces back
 * to this thread, and a stop at a chunk boundary.
 */
import assert from 'node:assert/strict';
import { runPipeline, type PipelineStages } from '../src/pipeline.js';

const tick = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Log {
  commits: number[][];
  here: number;
  inFlight: number;
  maxInFlight: number;
  open: number;
  maxOpen: number;
}

/** Stages that double each number: pieces of `piece` items, commits that take `commitMs` and may fail at a chunk. */
function doubling(o: { piece: number; commitMs?: number; failCommitAt?: number; failReadAt?: number }): {
  stages: PipelineStages<number, number[], number[], number[], number[], number[], number[]>;
  log: Log;
} {
  const log: Log = { commits: [], here: 0, inFlight: 0, maxInFlight: 0, open: 0, maxOpen: 0 };
  const stages: PipelineStages<number, number[], number[], number[], number[], number[], number[]> = {
    read: async (items, index) => {
      if (index === o.failReadAt) throw Object.assign(new Error('read failed'), { code: 'ERR_STAND_IN_READ' });
      await tick();
      log.open += 1;
      log.maxOpen = Math.max(log.maxOpen, log.open);
      const pieces: number[][] = [];
      for (let k = 0; k < items.length; k += o.piece) pieces.push(items.slice(k, k + o.piece));
      return { chunk: items, pieces };
    },
    prepare: (piece) => ({ request: piece, complete: (answer) => answer }),
    signHere: (piece) => {
      log.here += 1;
      return piece.map((x) => x * 2);
    },
    commit: async (chunk, outcomes, index) => {
      log.open -= 1;
      await tick(o.commitMs ?? 0);
      if (index === o.failCommitAt) throw Object.assign(new Error('commit failed'), { code: 'ERR_STAND_IN_COMMIT' });
      const flat = outcomes.flat();
      assert.deepEqual(
        flat,
        chunk.map((x) => x * 2),
      );
      log.commits.push(chunk);
      return flat;
    },
  };
  return { stages, log };
}

/** A pool answering after a delay that varies by request (so answers come out of order), failing from `failFrom` on. */
function standInPool(log: Log, o: { failFrom?: number; delay?: (n: number) => number } = {}) {
  let n = 0;
  return {
    run: async (piece: number[]) => {
      const k = n++;
      log.inFlight += 1;
      log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
      try {
        await tick(o.delay ? o.delay(k) : (k * 7) % 5);
        if (o.failFrom !== undefined && k >= o.failFrom) throw new Error('stand-in worker stopped');
        return piece.map((x) => x * 2);
      } finally {
        log.inFlight -= 1;
      }
    },
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('runPipeline (pipeline.ts)', function () {
  it('returns and commits every chunk in input order when the pool answers out of order', async () => {
    const { stages, log } = doubling({ piece: 4, commitMs: 2 });
    const items = range(103);
    const r = await runPipeline(items, stages, { chunkSize: 16, readAhead: 3, pool: { pool: standInPool(log), threads: 2, depth: 2 } });
    assert.deepEqual(
      r.results.flat(),
      items.map((x) => x * 2),
    );
    assert.deepEqual(log.commits.flat(), items);
    assert.equal(r.committed, 103);
    assert.equal(r.stopped, false);
    assert.equal(r.poolFailure, undefined);
  });

  it('keeps pieces in flight within threads x depth and chunks waiting for their commit within readAhead', async () => {
    const { stages, log } = doubling({ piece: 2, commitMs: 3 });
    await runPipeline(range(200), stages, { chunkSize: 10, readAhead: 2, pool: { pool: standInPool(log, { delay: () => 2 }), threads: 3, depth: 2 } });
    assert.ok(log.maxInFlight <= 6, `at most 6 pieces in flight, saw ${log.maxInFlight}`);
    assert.ok(log.maxInFlight >= 2, 'the pool was used');
    assert.ok(log.maxOpen <= 2, `at most 2 chunks open, saw ${log.maxOpen}`);
  });

  it('signs everything on this thread without a pool, committing in order', async () => {
    const { stages, log } = doubling({ piece: 5, commitMs: 1 });
    const r = await runPipeline(range(57), stages, { chunkSize: 20, readAhead: 2 });
    assert.deepEqual(
      r.results.flat(),
      range(57).map((x) => x * 2),
    );
    assert.equal(log.here, 12);
  });

  it('a failing pool hands its pieces back: this thread signs them and the result says why', async () => {
    const { stages, log } = doubling({ piece: 4 });
    const items = range(150);
    const r = await runPipeline(items, stages, { chunkSize: 32, readAhead: 2, pool: { pool: standInPool(log, { failFrom: 5 }), threads: 2, depth: 3 } });
    assert.deepEqual(
      r.results.flat(),
      items.map((x) => x * 2),
    );
    assert.match(String((r.poolFailure?.e as Error).message), /stand-in worker stopped/);
    assert.ok(log.here > 0);
  });

  it('a failing commit stops the batch with its error: the chunks before it stay committed, none after it', async () => {
    const { stages, log } = doubling({ piece: 4, failCommitAt: 2 });
    await assert.rejects(runPipeline(range(100), stages, { chunkSize: 10, readAhead: 3, pool: { pool: standInPool(log), threads: 2, depth: 2 } }), {
      code: 'ERR_STAND_IN_COMMIT',
    });
    assert.deepEqual(log.commits, [range(10), range(10).map((x) => x + 10)]);
  });

  it('a failing read stops the batch with its error after the commit under way', async () => {
    const { stages, log } = doubling({ piece: 4, commitMs: 5, failReadAt: 3 });
    await assert.rejects(runPipeline(range(100), stages, { chunkSize: 10, readAhead: 4 }), { code: 'ERR_STAND_IN_READ' });
    assert.deepEqual(log.commits.flat(), range(log.commits.length * 10), 'what was committed is a prefix');
  });

  it('stops at a chunk boundary when asked: what was read is committed, the result is a prefix', async () => {
    const { stages, log } = doubling({ piece: 4, commitMs: 1 });
    let asked = 0;
    const r = await runPipeline(range(100), stages, { chunkSize: 10, readAhead: 2, shouldStop: () => ++asked > 3 });
    assert.equal(r.stopped, true);
    assert.equal(r.committed, 30);
    assert.deepEqual(log.commits.flat(), range(30));
    assert.deepEqual(
      r.results.flat(),
      range(30).map((x) => x * 2),
    );
  });
});
