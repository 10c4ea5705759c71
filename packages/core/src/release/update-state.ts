/**
 * A device's update state: the security counter it reached, the release manifest that raised it there, and the
 * number of the last withdrawal list it accepted. Its one encoding is compact JSON:
 *
 * ```json
 * {"_type":"https://custody.dev/update-state/v1","counter":7,"release":"<base64 manifest DER>","withdrawalsNumber":3}
 * ```
 *
 * Keeping the manifest beside the counter is what makes an edited counter visible: the counter must equal the
 * signed counter of the manifest kept, so lowering it means replacing the manifest with an older signed one as
 * well. That replacement a file cannot detect; a real device keeps the counter in tamper-resistant storage (a
 * monotonic counter, eMMC RPMB, OTP fuses), as `docs/updates.md` explains.
 */
import { CustodyError } from '../errors.js';
import { fromBase64, fromUtf8, toBase64, utf8 } from '../util/bytes.js';
import { parseStrictJSON } from '../util/strict-json.js';
import { MAX_RELEASE_MANIFEST_BYTES, parseReleaseManifest, verifyReleaseManifest } from './release-manifest.js';
import type { ReleaseTrust } from './code-signer.js';

/** The `_type` of an update state. */
export const UPDATE_STATE_TYPE = 'https://custody.dev/update-state/v1';
/** Largest state read: a manifest in base64 and a few fields. */
export const MAX_UPDATE_STATE_BYTES = 2 * MAX_RELEASE_MANIFEST_BYTES;

/** What a device remembers between updates. */
export interface UpdateState {
  /** The security counter: never lowered. */
  readonly counter: number;
  /** DER of the release manifest last accepted (its counter is `counter`), or null on a device never updated. */
  readonly release: Uint8Array | null;
  /** Number of the last withdrawal list accepted; 0 for none. */
  readonly withdrawalsNumber: number;
}

/** The state of a device that never took an update. */
export const INITIAL_UPDATE_STATE: UpdateState = { counter: 0, release: null, withdrawalsNumber: 0 };

function bad(what: string): CustodyError {
  return new CustodyError('ERR_UPDATE_STATE_MALFORMED', `update state: ${what}`);
}

/** The state's one encoding. */
export function encodeUpdateState(state: UpdateState): Uint8Array {
  const release = state.release === null ? 'null' : `"${toBase64(state.release)}"`;
  return utf8(`{"_type":"${UPDATE_STATE_TYPE}","counter":${state.counter},"release":${release},"withdrawalsNumber":${state.withdrawalsNumber}}\n`);
}

/**
 * Strict parse of a state's bytes; checks its form, not its consistency (`checkUpdateState`).
 * @throws ERR_UPDATE_STATE_MALFORMED naming what is wrong
 */
export function parseUpdateState(bytes: Uint8Array): UpdateState {
  if (bytes.length > MAX_UPDATE_STATE_BYTES) throw bad(`${bytes.length} bytes, more than the ${MAX_UPDATE_STATE_BYTES} allowed`);
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch {
    throw bad('not UTF-8 JSON');
  }
  const json = parseStrictJSON(text, { code: 'ERR_UPDATE_STATE_MALFORMED', what: 'update state', maxDepth: 1 });
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('must be a JSON object');
  const o = json as Record<string, unknown>;
  const keys = ['_type', 'counter', 'release', 'withdrawalsNumber'];
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw bad(`unknown field ${JSON.stringify(k.slice(0, 40))}`);
  if (o._type !== UPDATE_STATE_TYPE) throw bad(`_type must be "${UPDATE_STATE_TYPE}"`);
  const count = (v: unknown, f: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${f} must be an integer >= 0`);
    return v;
  };
  let release: Uint8Array | null = null;
  if (o.release !== null) {
    const der = typeof o.release === 'string' ? fromBase64(o.release) : undefined;
    if (!der) throw bad('release must be null or a base64 release manifest');
    release = der;
  }
  return { counter: count(o.counter, 'counter'), release, withdrawalsNumber: count(o.withdrawalsNumber, 'withdrawalsNumber') };
}

/**
 * Checks that a state is consistent: the manifest it keeps is a signed release under the device's roots (judged
 * at the release's own time), and the counter is that release's counter; a state with no release has counter 0.
 * A counter edited by hand (backwards, or forwards to lock updates out) fails here.
 * @throws ERR_UPDATE_STATE_TAMPERED naming what does not hold (the cause is the manifest's error, when it is one)
 */
export async function checkUpdateState(state: UpdateState, trust: ReleaseTrust): Promise<void> {
  if (state.release === null) {
    if (state.counter !== 0)
      throw new CustodyError('ERR_UPDATE_STATE_TAMPERED', `update state: counter is ${state.counter}, but no accepted release is recorded`);
    return;
  }
  let counter: number;
  try {
    // At the release's own time: the signer's certificate may have expired since the device accepted it.
    const at = new Date(parseReleaseManifest(state.release).statement.predicate.time);
    counter = (await verifyReleaseManifest(state.release, trust, at)).statement.predicate.securityCounter;
  } catch (e) {
    throw new CustodyError('ERR_UPDATE_STATE_TAMPERED', `update state: the recorded release is not a signed release: ${(e as Error).message}`, { cause: e });
  }
  if (counter !== state.counter)
    throw new CustodyError('ERR_UPDATE_STATE_TAMPERED', `update state: counter is ${state.counter}, but the release recorded with it has counter ${counter}`);
}
