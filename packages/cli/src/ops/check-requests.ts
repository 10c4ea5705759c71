/**
 * Phase 1 of a large provisioning batch on several threads: each CSR's signature check (proof of possession)
 * is independent of the others, so worker threads check pieces of the batch while this thread checks pieces
 * from the other end. The outcomes go to core's `prepareChecked` in input order, so the error a batch reports
 * is the one a single thread would have found first.
 */
import { CustodyError } from '@custody/core/errors';
import { checkRequest, type CheckedRequest, type ProvisionInput } from '@custody/core/provisioning/provision';
import type { CryptoProvider } from '@custody/core/crypto/provider';

/** A request sent to a worker: its source (for error messages) and its CSR. */
export interface CheckJob {
  source: string;
  csr: Uint8Array;
}

/** A worker's answer for one request: what it asks for, or why it is refused. */
export type CheckAnswer = { serial: string; spki: Uint8Array } | { code: string; message: string; file?: string };

/** Requests per message to a worker, or per turn of this thread between looks at the answers. */
const PIECE = 256;
/** Pieces queued on each worker. */
const DEPTH = 4;

/** `checkRequest` for each input in order, a refusal kept as its error in its place. */
async function checkHere(inputs: readonly ProvisionInput[], provider: CryptoProvider, out: Array<CheckedRequest | CustodyError>, indexes: Iterable<number>): Promise<void> {
  for (const i of indexes) {
    try {
      out[i] = await checkRequest(inputs[i]!, provider);
    } catch (e) {
      if (!(e instanceof CustodyError)) throw e;
      out[i] = e;
    }
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

/**
 * The outcome of `checkRequest` for every input, in input order, checked on this thread and `threads` worker
 * threads (none: this thread alone). Requests without a CSR cost nothing to check and stay here.
 */
export async function checkRequests(inputs: readonly ProvisionInput[], provider: CryptoProvider, threads: number): Promise<Array<CheckedRequest | CustodyError>> {
  const out = new Array<CheckedRequest | CustodyError>(inputs.length);
  const withCSR = inputs.flatMap((input, i) => (input.csr ? [i] : []));
  await checkHere(inputs, provider, out, inputs.flatMap((input, i) => (input.csr ? [] : [i])));
  if (threads === 0) {
    await checkHere(inputs, provider, out, withCSR);
    return out;
  }
  const pieces = range(0, Math.ceil(withCSR.length / PIECE)).map((k) => withCSR.slice(k * PIECE, (k + 1) * PIECE));
  const { WorkerPool } = await import('./worker-pool.js');
  const pool = new WorkerPool<CheckJob[], CheckAnswer[]>(new URL('./csr-worker.js', import.meta.url), undefined, threads);
  let front = 0;
  let back = pieces.length;
  let outstanding = 0;
  let failure: { e: unknown } | undefined;
  const sent: Array<Promise<void>> = [];
  const send = () => {
    while (outstanding < threads * DEPTH && front < back) {
      const piece = pieces[front++]!;
      outstanding += 1;
      const jobs = piece.map((i): CheckJob => ({ source: inputs[i]!.source, csr: inputs[i]!.csr! }));
      sent.push(
        pool
          .run(jobs)
          .then((answers) =>
            answers.forEach((a, k) => {
              out[piece[k]!] = 'code' in a ? new CustodyError(a.code, a.message, a.file === undefined ? {} : { file: a.file }) : { source: jobs[k]!.source, serial: a.serial, spki: a.spki };
            }),
          )
          .catch((e: unknown) => void (failure ??= { e }))
          .finally(() => (outstanding -= 1)),
      );
    }
  };
  try {
    send();
    // This thread takes pieces from the back while the workers take them from the front; between pieces it
    // lets the workers' answers in and tops their queues up.
    while (front < back && !failure) {
      await checkHere(inputs, provider, out, pieces[--back]!);
      await new Promise<void>((resolve) => setImmediate(resolve));
      send();
    }
    await Promise.all(sent);
  } finally {
    await pool.close();
  }
  if (failure) throw failure.e;
  return out;
}
