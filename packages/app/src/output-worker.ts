/**
 * The file-writing thread of a large provisioning batch (provision-outputs.ts): makes each signed piece's
 * certificate files under their temporary names, and moves a recorded chunk's files into place, while the main
 * thread signs the next devices. File creation is the costly part of a batch written to a folder (an inode can take
 * a file system hundreds of microseconds to allocate), and on this thread it costs the batch a message a piece.
 */
import { CustodyError } from '@custody/core/errors';
import { commitOutputs, writeOutput, type PreparedOutput } from './outputs.js';
import { serveRequests } from './worker-pool.js';
import type { FileAnswer, FileJob } from './provision-outputs.js';

/** A refusal as data: an I/O error named after its output, or (a bug) anything else. */
function refusal(e: unknown): NonNullable<FileAnswer['error']> {
  if (e instanceof CustodyError) return { code: e.code, message: e.message, ...(e.file !== undefined ? { file: e.file } : {}) };
  throw e;
}

serveRequests((job: FileJob): FileAnswer => {
  if ('write' in job) {
    try {
      // Unflushed: the store can give certificates again (devices export-certs).
      for (const [out, data] of job.write) writeOutput(out, data, { flush: false });
      return {};
    } catch (e) {
      return { error: refusal(e) };
    }
  }
  const outs: PreparedOutput[] = job.commit;
  try {
    commitOutputs(outs);
    return { committed: outs.map((o) => o.committed) };
  } catch (e) {
    return { committed: outs.map((o) => o.committed), error: refusal(e) };
  }
});
