/**
 * A bounded-stage batch pipeline: read -> prepare -> sign (on a pool of worker threads, or on this thread) ->
 * commit. Provisioning and handoff batches share it; what each stage does is theirs.
 *
 * Items go through in chunks (one store read and one commit each) made of pieces (one signing request each).
 * Work in flight is bounded: at most `readAhead` chunks read and waiting for their commit (besides the one being committed), at most `threads * depth`
 * pieces queued on the pool. Chunks are committed one at a time and in input order, so that what a stopped or
 * failed run recorded is always a prefix of its input. While a commit is under way (its journal flushes), this
 * thread goes on preparing and signing.
 */

/** What a batch's stages do; `P` a piece, `C` a chunk's own state, `Req`/`Res` a pool request and answer, `O` a piece's outcome, `R` a chunk's result. */
export interface PipelineStages<T, C, P, Req, Res, O, R> {
  /** Reads a chunk's items (a store read): its state, and its pieces in order (none is fine). */
  read(items: T[], index: number): Promise<{ chunk: C; pieces: P[] }> | { chunk: C; pieces: P[] };
  /** Everything of a piece but its signatures, on this thread: the pool's request, and how its answer completes it. */
  prepare(piece: P): { request: Req; complete(answer: Res): O };
  /** A whole piece on this thread (while the pool starts, after it failed, or without one). */
  signHere(piece: P): Promise<O> | O;
  /** Records a chunk, given its pieces' outcomes in order. */
  commit(chunk: C, outcomes: O[], index: number): Promise<R>;
}

/** Worker threads answering one request at a time each (worker-pool.ts). */
export interface PipelinePool<Req, Res> {
  run(request: Req): Promise<Res>;
}

export interface PipelineOptions<Req, Res> {
  /** Items per chunk. */
  chunkSize: number;
  /** Chunks read and waiting for their commit, at most (the one being committed is not counted). */
  readAhead: number;
  /**
   * The pool, and its thread count; none: every piece is signed here. With `hereToo`, this thread signs pieces
   * beside the pool all along (a batch whose pool does the whole of an item, leaving this thread little else),
   * not only while the pool starts.
   */
  pool?: { pool: PipelinePool<Req, Res>; threads: number; depth: number; hereToo?: boolean };
  /** Asked before each chunk is read: true stops the batch at that chunk boundary (what was read is still committed). */
  shouldStop?: () => boolean;
}

export interface PipelineResult<R> {
  /** Each committed chunk's result, in input order. */
  results: R[];
  /** Items committed: a prefix of the input. */
  committed: number;
  /** True when `shouldStop` ended the batch before its last item. */
  stopped: boolean;
  /** Why the pool failed, when it did: this thread then signed every piece the pool had not answered. */
  poolFailure?: { e: unknown };
}

interface OpenChunk<C, O> {
  index: number;
  size: number;
  chunk: C;
  out: O[];
  missing: number;
}

interface Piece<C, P, O> {
  at: OpenChunk<C, O>;
  k: number;
  piece: P;
}

/**
 * Runs a batch through `stages`. A stage that throws (or a commit that rejects) stops the batch: the commit under
 * way finishes first, then the error is thrown; chunks committed before it stay committed. A pool that fails is
 * not an error: this thread signs what it had not answered, and `poolFailure` says why.
 * @throws whatever a stage throws
 */
export async function runPipeline<T, C, P, Req, Res, O, R>(
  items: readonly T[],
  stages: PipelineStages<T, C, P, Req, Res, O, R>,
  o: PipelineOptions<Req, Res>,
): Promise<PipelineResult<R>> {
  const results: R[] = [];
  const open: Array<OpenChunk<C, O>> = [];
  const queue: Array<Piece<C, P, O>> = [];
  const pool = o.pool;
  const inFlightMax = pool ? pool.threads * pool.depth : 0;
  let read = 0;
  let chunks = 0;
  let committed = 0;
  let stopped = false;
  let outstanding = 0;
  /** Pieces the pool answered: none while its threads start. */
  let answered = 0;
  let failure: { e: unknown } | undefined;
  let poolFailure: { e: unknown } | undefined;
  let wake: (() => void) | undefined;
  let recording: Promise<void> | undefined;
  const arrive = (p: Piece<C, P, O>, out: O) => {
    p.at.out[p.k] = out;
    p.at.missing -= 1;
  };
  const more = () => !stopped && read < items.length;
  try {
    while (more() || open.length > 0) {
      if (failure) throw failure.e;
      // Only the oldest open chunk may be committed: commits stay in input order.
      const head = open[0];
      if (head && head.missing === 0 && !recording) {
        open.shift();
        recording = stages
          .commit(head.chunk, head.out, head.index)
          .then((r) => {
            results[head.index] = r;
            committed += head.size;
          })
          .catch((e: unknown) => void (failure ??= { e }))
          .finally(() => {
            recording = undefined;
            wake?.();
          });
      }
      while (pool && !poolFailure && queue.length > 0 && outstanding < inFlightMax) {
        const p = queue.shift()!;
        const prepared = stages.prepare(p.piece);
        outstanding += 1;
        pool.pool
          .run(prepared.request)
          .then(
            (answer) => {
              answered += 1;
              arrive(p, prepared.complete(answer));
            },
            // Back to the queue, for this thread to sign.
            (e: unknown) => {
              poolFailure ??= { e };
              queue.push(p);
            },
          )
          .catch((e: unknown) => void (failure ??= { e }))
          .finally(() => {
            outstanding -= 1;
            wake?.();
          });
      }
      if (queue.length === 0 && more() && open.length < o.readAhead) {
        if (o.shouldStop?.()) {
          stopped = true;
          continue;
        }
        const index = chunks++;
        const slice = items.slice(read, (read += o.chunkSize));
        const { chunk, pieces } = await stages.read(slice, index);
        const c: OpenChunk<C, O> = { index, size: slice.length, chunk, out: [], missing: pieces.length };
        open.push(c);
        pieces.forEach((piece, k) => queue.push({ at: c, k, piece }));
        continue;
      }
      if (open[0]?.missing === 0 && !recording) continue;
      if (queue.length > 0 && (!pool || poolFailure || answered === 0 || pool.hereToo)) {
        // No pool, a failed one, or one still starting (about as long as 2,000 signatures take): sign a piece
        // here, from the back (the pool takes from the front), then let answers and the commit in. Once the pool
        // answers, this thread's share of each item costs more than its signature: signing here would only slow
        // the slower side.
        const p = queue.pop()!;
        arrive(p, await stages.signHere(p.piece));
        await new Promise<void>((resolve) => setImmediate(resolve));
      } else if (outstanding > 0 || recording) await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    // A commit under way finishes first, whatever stopped the loop: its journal append is under way.
    await recording;
  }
  if (failure) throw failure.e;
  return { results, committed, stopped, ...(poolFailure ? { poolFailure } : {}) };
}
