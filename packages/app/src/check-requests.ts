/**
 * Phase 1 of a large provisioning batch on several threads: each CSR's signature check (proof of possession)
 * is independent of the others, so worker threads check pieces of the batch while this thread checks pieces
 * from the other end. The outcomes go to core's `prepareChecked` in input order, so the error a batch reports
 * is the one a single thread would have found first.
 */
import { CustodyError } from '@custody/core/errors';
import { checkRequest, type CheckedRequest, type ProvisionInput } from '@custody/core/provisioning';
import type { CryptoProvider } from '@custody/core/crypto';
import type { ProvisionPool } from './provision-pool.js';

/** A request sent to a worker: its source (for error messages) and its CSR. */
export interface CheckJob {
  source: string;
  csr: Uint8Array;
}

/** A worker's answer for one request: what it asks for, or why it is refused. */
export type CheckAnswer =
  { serial: string; spki: Uint8Array; commonName?: string } | { code: string; message: string; category: CustodyError['category']; file?: string };

/**
 * Bytes to send to a worker: a copy when they are a view into a larger buffer (Node's shared pool, a file read
 * whole), as a structured clone copies a view's whole buffer, and that may hold anything this thread decoded.
 */
export function ownBytes(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice();
}

/** Requests per message to a worker, or per turn of this thread between looks at the answers. */
const PIECE = 256;
/** Pieces queued on each worker. */
const DEPTH = 4;

/** `checkRequest` for each input in order, a refusal kept as its error in its place; `onChecked` told the count. */
async function checkHere(
  inputs: readonly ProvisionInput[],
  provider: CryptoProvider,
  out: Array<CheckedRequest | CustodyError>,
  indexes: readonly number[],
  onChecked: (n: number) => void,
): Promise<void> {
  for (const i of indexes) {
    try {
      out[i] = await checkRequest(inputs[i]!, provider);
    } catch (e) {
      if (!(e instanceof CustodyError)) throw e;
      out[i] = e;
    }
  }
  if (indexes.length > 0) onChecked(indexes.length);
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

/**
 * The outcome of `checkRequest` for every input, in input order, checked on this thread and worker threads: a
 * batch's pool (provision-pool.ts, left running), or `threads` started for the checks alone (none: this thread
 * alone). Requests without a CSR cost nothing to check and stay here. `onChecked` is told of each piece checked
 * (a progress display).
 */
export async function checkRequests(
  inputs: readonly ProvisionInput[],
  provider: CryptoProvider,
  threads: number | ProvisionPool,
  onChecked: (n: number) => void = () => {},
): Promise<Array<CheckedRequest | CustodyError>> {
  const out = new Array<CheckedRequest | CustodyError>(inputs.length);
  const withCSR = inputs.flatMap((input, i) => (input.csr ? [i] : []));
  await checkHere(
    inputs,
    provider,
    out,
    inputs.flatMap((input, i) => (input.csr ? [] : [i])),
    onChecked,
  );
  const pieces = range(0, Math.ceil(withCSR.length / PIECE)).map((k) => withCSR.slice(k * PIECE, (k + 1) * PIECE));
  // This thread always keeps a piece: no worker is started for a batch of one piece.
  const given = typeof threads === 'number' ? undefined : threads;
  const workers = typeof threads === 'number' ? Math.min(threads, pieces.length - 1) : threads.threads;
  if (workers <= 0 || pieces.length < 2) {
    await checkHere(inputs, provider, out, withCSR, onChecked);
    return out;
  }
  const { pool } = given ?? (await (await import('./provision-pool.js')).startProvisionPool(workers))!;
  let front = 0;
  let back = pieces.length;
  let outstanding = 0;
  let failure: { e: unknown } | undefined;
  const sent: Array<Promise<void>> = [];
  const send = () => {
    while (outstanding < workers * DEPTH && front < back - 1) {
      const piece = pieces[front++]!;
      outstanding += 1;
      const jobs = piece.map((i): CheckJob => ({ source: inputs[i]!.source, csr: ownBytes(inputs[i]!.csr!) }));
      sent.push(
        pool
          .run({ check: jobs })
          .then((a) => {
            const answers = a as CheckAnswer[];
            if (answers.length !== jobs.length) throw new Error(`a request-checking worker answered ${answers.length} of ${jobs.length} requests`);
            answers.forEach((a, k) => {
              out[piece[k]!] =
                'code' in a
                  ? new CustodyError(a.code, a.message, { category: a.category, ...(a.file === undefined ? {} : { file: a.file }) })
                  : { source: jobs[k]!.source, serial: a.serial, spki: a.spki, ...(a.commonName === undefined ? {} : { commonName: a.commonName }) };
            });
            onChecked(answers.length);
          })
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
      await checkHere(inputs, provider, out, pieces[--back]!, onChecked);
      await new Promise<void>((resolve) => setImmediate(resolve));
      send();
    }
    await Promise.all(sent);
  } finally {
    if (!given) await pool.close();
  }
  if (failure) throw failure.e;
  return out;
}
