/**
 * The files of a provisioning batch: every output checked and every generated key written (flushed, mode 0600)
 * under a temporary name before anything is recorded, and what to tell the operator when a write fails after the
 * store has recorded devices.
 */
import { CustodyError } from '@custody/core/errors';
import type { Prepared } from '@custody/core/provisioning';
import type { PrivateKeyHandle } from '@custody/core/crypto';
import { deriveKeyKDF, encodePrivateKey, type KeyProtection } from '@custody/store/keys';
import { encodePEM } from '@custody/core/x509';
import type { ProvisionedDevice } from '@custody/core/provisioning';
import {
  commitOutputs,
  discardOutputs,
  outputError,
  prepareFolder,
  prepareOutputsIn,
  writeOutput,
  writeOutputs,
  type PreparedFolder,
  type PreparedOutput,
} from './outputs.js';

/** A batch's output folder and, by serial, each device's certificate file and generated key file. */
export interface DeviceOutputs {
  folder: PreparedFolder;
  bySerial: Map<string, { certificate: PreparedOutput; key?: PreparedOutput }>;
}

/**
 * Checks every output of a batch and writes its generated keys (flushed) under temporary names, calling
 * `onKeyFile` as each key is encrypted; undoes it all on failure.
 * @throws ERR_IO_NO_FOLDER, ERR_IO_EXISTS (unless `force`), ERR_IO_WRITE
 */
export async function prepareDeviceOutputs(
  out: string,
  prepared: readonly Prepared[],
  keys: ReadonlyMap<string, PrivateKeyHandle>,
  o: { force?: boolean; deviceKeyProtection?: KeyProtection },
  onKeyFile: (n?: number) => void = () => {},
): Promise<DeviceOutputs> {
  const files: DeviceOutputs = { folder: prepareFolder(out), bySerial: new Map() };
  const keyFiles: Array<[PreparedOutput, string]> = [];
  try {
    const force = { force: o.force };
    const certificates = prepareOutputsIn(
      out,
      prepared.map((p) => `${p.serial}.pem`),
      force,
    );
    prepared.forEach((p, i) => files.bySerial.set(p.serial, { certificate: certificates[i]! }));
    const generated = prepared.filter((p) => keys.has(p.serial));
    const protection = batchProtection(o.deviceKeyProtection);
    const keyOutputs = prepareOutputsIn(
      out,
      generated.map((p) => `${p.serial}.key.pem`),
      { ...force, mode: 0o600 },
    );
    generated.forEach((p, i) => {
      files.bySerial.get(p.serial)!.key = keyOutputs[i]!;
      keyFiles.push([keyOutputs[i]!, encodePrivateKey(keys.get(p.serial)!, protection)]);
      onKeyFile();
    });
    await writeOutputs(keyFiles);
  } catch (e) {
    discardOutputs(
      [...files.bySerial.values()].flatMap((f) => (f.key ? [f.certificate, f.key] : [f.certificate])),
      files.folder,
    );
    throw e;
  }
  return files;
}

/** A batch's certificate files: written under temporary names as devices are signed, moved into place once recorded. */
export interface BatchFiles {
  /** Writes the certificates of devices just signed (not flushed: the store can give them again). */
  write(devices: readonly ProvisionedDevice[]): Promise<void>;
  /** Moves recorded outputs into place, in order, marking each `committed`, then flushes the folder. */
  commit(outs: PreparedOutput[]): Promise<void>;
  /** Waits for every write and move asked for, whatever its outcome, and stops the writing thread. */
  close(): Promise<void>;
}

/** A request to the file-writing thread (output-worker.ts). */
export type FileJob = { write: Array<[PreparedOutput, string]> } | { commit: PreparedOutput[] };
/** Its answer: which outputs a move put in place, and the first refusal. */
export interface FileAnswer {
  committed?: boolean[];
  error?: { code: string; message: string; file?: string };
}

const pem = (files: DeviceOutputs, devices: readonly ProvisionedDevice[]): Array<[PreparedOutput, string]> =>
  devices.map((d) => [files.bySerial.get(d.serial)!.certificate, encodePEM(d.certificate, 'CERTIFICATE')]);

/**
 * The files of a batch, written on this thread, or, with `threads` above 0 (a batch large enough to pay for
 * starting one, see pool-size.ts), on a thread of their own while this one signs.
 */
export async function batchFiles(files: DeviceOutputs, threads: number): Promise<BatchFiles> {
  if (threads === 0) {
    return {
      async write(devices) {
        for (const [out, data] of pem(files, devices)) writeOutput(out, data, { flush: false });
      },
      async commit(outs) {
        commitOutputs(outs);
      },
      async close() {},
    };
  }
  const { WorkerPool } = await import('./worker-pool.js');
  const pool = new WorkerPool<FileJob, FileAnswer>(new URL('./output-worker.js', import.meta.url), undefined, 1);
  const asked = new Set<Promise<unknown>>();
  let closed: Promise<void> | undefined;
  const ask = async (job: FileJob): Promise<FileAnswer> => {
    const answer = pool.run(job);
    asked.add(answer);
    try {
      return await answer;
    } finally {
      asked.delete(answer);
    }
  };
  // A refusal in an answer is this thread's error, as writing here would have thrown it.
  const thrown = (r: FileAnswer) => {
    if (r.error) throw new CustodyError(r.error.code, r.error.message, r.error.file === undefined ? {} : { file: r.error.file });
  };
  return {
    async write(devices) {
      thrown(await ask({ write: pem(files, devices) }));
    },
    async commit(outs) {
      const r = await ask({ commit: outs });
      r.committed?.forEach((c, i) => (outs[i]!.committed = c));
      thrown(r);
    },
    close() {
      closed ??= Promise.allSettled([...asked]).then(() => pool.close());
      return closed;
    },
  };
}

/** A batch's key protection with its passphrase derived once (see device-keys.ts); none given: unencrypted. */
function batchProtection(p: KeyProtection | undefined): KeyProtection {
  if (p === undefined) return { unencrypted: true };
  return 'passphrase' in p && !p.kdf ? { ...p, kdf: deriveKeyKDF(p.passphrase) } : p;
}

/** The error for a write that failed after devices were recorded: what the store now holds, and where their keys are. */
export function afterCommitError(e: unknown, recorded: readonly string[], files: DeviceOutputs, lot: string | undefined): CustodyError {
  const first = outputError((e as CustodyError).file ?? files.folder.path, e);
  const devices = recorded.length === 1 ? `device ${recorded[0]}` : `${recorded.length} devices (${recorded[0]} to ${recorded[recorded.length - 1]})`;
  const keys = recorded.flatMap((s) => {
    const k = files.bySerial.get(s)?.key;
    return k && !k.committed ? [k.temp] : [];
  });
  const keyNote =
    keys.length === 0
      ? ''
      : `; their private keys not moved into place are kept in ${keys.length === 1 ? keys[0] : `${keys.length} files named ${keys[0]} and so on`}`;
  const selection = recorded.length === 1 ? `--serial ${recorded[0]}` : lot !== undefined ? `--lot ${lot}` : '--list <a file of those serials>';
  return new CustodyError(
    first.code,
    `${first.message}; the store has already recorded ${devices} (a re-run skips them as already issued): write their certificates again with \`custody devices export-certs ${selection} --out ${files.folder.path}\`${keyNote}`,
    { file: first.file, cause: e },
  );
}
