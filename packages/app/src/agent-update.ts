/**
 * The reference device agent's update (`custody agent update`): accept an image only from a release manifest
 * signed by a code signer under the device's root, for its model, unexpired, not withdrawn, with a security
 * counter not below the one in its state file; then raise the counter in the state file atomically.
 *
 * The state file is replaced, never edited in place: the new state is written to a temporary file beside it,
 * flushed, renamed over it and the folder flushed (`outputs.ts`), so a crash at any point leaves the old state or
 * the new one, never a lower counter or half a file. It keeps the manifest that set its counter, so a counter
 * edited by hand is refused (`checkUpdateState`); what a file cannot give, real hardware adds: docs/updates.md.
 * One agent updates a device at a time (a bootloader's update runs alone); two agents racing on one state file
 * are outside this model.
 */
import { lstatSync } from 'node:fs';
import { CustodyError } from '@custody/core/errors';
import {
  checkImageLength,
  checkUpdate,
  checkUpdateState,
  createReleaseTrust,
  encodeUpdateState,
  INITIAL_UPDATE_STATE,
  parseUpdateState,
  verifyReleaseManifest,
  verifyWithdrawalList,
  type UpdateState,
} from '@custody/core/release';
import { provider, readInputFile } from './context.js';
import { readTrustAnchors } from './bundles.js';
import { hashImageFile } from './image-file.js';
import { commitOutputs, discardOutputs, prepareOutput, writeOutput } from './outputs.js';

export interface AgentUpdateOptions {
  manifest: string;
  image: string;
  /** Root certificate files (PEM, possibly several, or DER). */
  trust: readonly string[];
  state: string;
  model: string;
  withdrawals?: string;
  /** Start a state file at counter 0 when there is none (a device's first update); otherwise a missing one is refused. */
  createState?: boolean;
  now: Date;
}

/** What an accepted update changed. */
export interface AgentUpdateResult {
  release: string;
  version: string;
  imageSha256: string;
  previousCounter: number;
  counter: number;
  withdrawalsNumber: number;
  stateFile: string;
}

/** The bytes of a release manifest or withdrawal list file (a regular file, bounded: `readInputFile`). */
function readDocument(file: string, kind: 'release' | 'withdrawals'): Uint8Array {
  return new Uint8Array(readInputFile(file, kind));
}

/**
 * The device's state: the file's, checked for consistency, or the initial state when there is none and
 * `create` allows it.
 * @throws ERR_UPDATE_STATE_MISSING, ERR_UPDATE_STATE_UNREADABLE, ERR_UPDATE_STATE_MALFORMED, ERR_UPDATE_STATE_TAMPERED
 */
async function readState(file: string, create: boolean, check: (s: UpdateState) => Promise<void>): Promise<UpdateState> {
  let bytes: Buffer;
  try {
    // The new state replaces the path by rename, which replaces a symbolic link, not the file it names: the
    // counter would rise beside the link while the file it pointed to (say on the persistent partition the link
    // leads to after a reboot) kept the old one.
    if (lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink())
      throw new CustodyError(
        'ERR_UPDATE_STATE_UNREADABLE',
        `${file}: is a symbolic link; give the state file's own path (the state is replaced by rename, which would replace the link)`,
        { file },
      );
    bytes = readInputFile(file, 'updateState');
  } catch (e) {
    if (e instanceof CustodyError && e.code === 'ERR_UPDATE_STATE_UNREADABLE') throw e;
    const missing = e instanceof CustodyError && e.code === 'ERR_INPUT_READ' && (e.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    if (missing && create) return INITIAL_UPDATE_STATE;
    if (missing)
      throw new CustodyError(
        'ERR_UPDATE_STATE_MISSING',
        `${file}: no update state (a device that lost its state would accept any counter; give --create-state for a device's first update)`,
        { file },
      );
    throw new CustodyError('ERR_UPDATE_STATE_UNREADABLE', `${file}: cannot read the update state: ${(e as Error).message}`, { file, cause: e });
  }
  try {
    const state = parseUpdateState(new Uint8Array(bytes));
    await check(state);
    return state;
  } catch (e) {
    throw e instanceof CustodyError ? e.withFile(file) : e;
  }
}

/** The file a device rule's refusal is about, so that its one line names it: the image, the list, the state or the manifest. */
function refusedFile(code: string, o: AgentUpdateOptions): string {
  if (code.startsWith('ERR_RELEASE_IMAGE_')) return o.image;
  if (code === 'ERR_WITHDRAWALS_MISSING') return o.state;
  if (code.startsWith('ERR_WITHDRAWALS_') && o.withdrawals !== undefined) return o.withdrawals;
  return o.manifest;
}

/**
 * Checks an update against every device rule and, when all hold, raises the counter in the state file.
 * @throws ERR_RELEASE_* / ERR_WITHDRAWALS_* (the manifest, image and list refusals, each its own code),
 *   ERR_UPDATE_STATE_*, ERR_INPUT_* (unreadable inputs), ERR_IO_WRITE (the state cannot be written)
 */
export async function agentUpdate(o: AgentUpdateOptions): Promise<AgentUpdateResult> {
  const trust = createReleaseTrust(readTrustAnchors(o.trust), provider);
  const state = await readState(o.state, o.createState ?? false, (s) => checkUpdateState(s, trust));
  const named = <T>(file: string, p: Promise<T>): Promise<T> => p.catch((e: unknown) => Promise.reject(e instanceof CustodyError ? e.withFile(file) : e));
  const release = await named(o.manifest, verifyReleaseManifest(readDocument(o.manifest, 'release'), trust, o.now));
  const withdrawals =
    o.withdrawals === undefined ? undefined : await named(o.withdrawals, verifyWithdrawalList(readDocument(o.withdrawals, 'withdrawals'), trust, o.now));
  const image = hashImageFile(o.image, (length) => {
    try {
      checkImageLength(release, length);
    } catch (e) {
      throw e instanceof CustodyError ? e.withFile(o.image) : e;
    }
  });
  let decision;
  try {
    decision = checkUpdate({ release, image, model: o.model, now: o.now, state, ...(withdrawals ? { withdrawals } : {}) });
  } catch (e) {
    throw e instanceof CustodyError ? e.withFile(refusedFile(e.code, o)) : e;
  }
  const output = prepareOutput(o.state, { force: true, mode: 0o600 });
  try {
    writeOutput(output, encodeUpdateState(decision.state));
    commitOutputs([output]);
  } finally {
    discardOutputs([output]);
  }
  return {
    release: release.hash,
    version: release.statement.predicate.version,
    imageSha256: image.sha256,
    previousCounter: decision.previousCounter,
    counter: decision.state.counter,
    withdrawalsNumber: decision.state.withdrawalsNumber,
    stateFile: o.state,
  };
}
