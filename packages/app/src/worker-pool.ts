/**
 * Worker threads for the CPU-bound half of a large batch: the main thread keeps the store (one writer), and the
 * workers run checks or signatures that need nothing from it. A request and its answer travel by structured
 * clone; KeyObjects may travel in `workerData`, never key bytes.
 */
import { parentPort, Worker } from 'node:worker_threads';

export { POOL_MIN_BATCH, poolThreads } from './pool-size.js';

interface Message<T> {
  id: number;
  body: T;
}

/** Worker threads running one script, each request answered by the next worker in turn. */
export class WorkerPool<Req, Res> {
  readonly #workers: Worker[];
  readonly #pending = new Map<number, { resolve: (r: Res) => void; reject: (e: unknown) => void }>();
  #next = 0;
  #failed: unknown;
  #closing = false;

  /** Starts `threads` workers of `script` (a file that calls `serveRequests`), each given `workerData`. */
  constructor(script: URL, workerData: unknown, threads: number) {
    this.#workers = Array.from({ length: threads }, () => new Worker(script, { workerData }));
    for (const w of this.#workers) {
      w.on('message', ({ id, body }: Message<Res>) => {
        this.#pending.get(id)?.resolve(body);
        this.#pending.delete(id);
      });
      w.on('error', (e) => this.#fail(e));
      w.on('exit', (code) => {
        if (!this.#closing) this.#fail(new Error(`a worker thread stopped with exit code ${code}`));
      });
    }
  }

  #fail(e: unknown): void {
    this.#failed ??= e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  /** Sends one request to the next worker; rejects when any worker failed, or the pool is closed. */
  run(body: Req): Promise<Res> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    if (this.#closing) return Promise.reject(new Error('the worker pool is closed'));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        this.#workers[id % this.#workers.length]!.postMessage({ id, body } satisfies Message<Req>);
      } catch (e) {
        // A request that cannot be copied to the thread: refused here, nothing left waiting for it.
        this.#pending.delete(id);
        reject(e);
      }
    });
  }

  /** True once a worker failed: every request since has been refused. */
  get failed(): boolean {
    return this.#failed !== undefined;
  }

  /** Lets the process exit while the workers idle (`unref`), or keeps it alive for them again (`ref`). */
  unref(): void {
    for (const w of this.#workers) w.unref();
  }

  ref(): void {
    for (const w of this.#workers) w.ref();
  }

  /** Sends one request to every worker (a setting each must hold); rejects when any worker failed. */
  broadcast(body: Req): Promise<Res[]> {
    // Requests go to the workers in turn, and these are sent in one go: one to each.
    return Promise.all(this.#workers.map(() => this.run(body)));
  }

  /** Stops the workers; a request still unanswered is refused (nothing may wait for an answer that cannot come). */
  async close(): Promise<void> {
    this.#closing = true;
    const closed = new Error('the worker pool was closed before it answered');
    for (const p of this.#pending.values()) p.reject(closed);
    this.#pending.clear();
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** In a worker script: answers every request of the pool with `handle` (a failure stops the worker). */
export function serveRequests<Req, Res>(handle: (body: Req) => Res | Promise<Res>): void {
  parentPort!.on('message', async ({ id, body }: Message<Req>) => parentPort!.postMessage({ id, body: await handle(body) } satisfies Message<Res>));
}
