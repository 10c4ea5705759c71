/**
 * Proof of possession: the verifier writes a challenge (a fresh nonce naming one device, with an expiry), the
 * device signs it with its IDevID key, and the verifier checks the answer against its own record of the challenge
 * and the IDevID public key. Verifying reads the record; activating spends the nonce (with the activation record),
 * so that a response serves one activation only.
 *
 * The device signs `custody-proof-of-possession/v1\n` followed by the challenge file's exact bytes (the
 * domain prefix keeps the signature from meaning anything else). A device that asks for an LDevID in the same
 * activation signs `custody-proof-of-possession+ldevid/v1\n`, the challenge bytes, and the hex SHA-256 of its
 * LDevID request's DER, which the response also carries (`ldevidCsrSha256`): the request is then bound to the key
 * that proves the device's identity, and the other prefix keeps either signature from passing for the other.
 */
import { CustodyError } from '../errors.js';
import { concatBytes, equalBytes, fromBase64, fromUtf8, toBase64, toHex, utf8 } from '../util/bytes.js';
import { parseStrictJSON } from '../util/strict-json.js';
import { isStatementTime } from '../attestation/statement.js';
import type { CryptoProvider, PrivateKeyHandle } from '../crypto/provider.js';
import { ecdsaDERToP1363, ecdsaP1363ToDER } from '../crypto/ecdsa-signature.js';
import { spkiCurve } from '../x509/certificate-info.js';

export const CHALLENGE_TYPE = 'https://custody.dev/challenge/v1';
export const RESPONSE_TYPE = 'https://custody.dev/challenge-response/v1';
const DOMAIN = utf8('custody-proof-of-possession/v1\n');
const DOMAIN_LDEVID = utf8('custody-proof-of-possession+ldevid/v1\n');

/** What the device signs: the challenge bytes, with the hash of its LDevID request when it covers one. */
function possessionMessage(challengeBytes: Uint8Array, ldevidCsrSha256: string | undefined): Uint8Array {
  return ldevidCsrSha256 === undefined ? concatBytes(DOMAIN, challengeBytes) : concatBytes(DOMAIN_LDEVID, challengeBytes, utf8(ldevidCsrSha256));
}

export interface Challenge {
  type: typeof CHALLENGE_TYPE;
  device: string;
  /** Hex SHA-256 of the IDevID DER the device must prove it holds the key of. */
  idevidSha256: string;
  /** Base64 of 32 random bytes. */
  nonce: string;
  issuedAt: string;
  expiresAt: string;
}

export interface ChallengeResponse {
  type: typeof RESPONSE_TYPE;
  /** Base64 of the challenge file's bytes, exactly as signed. */
  challenge: string;
  /** Hex SHA-256 of the DER of the LDevID request this response covers, when it covers one (signed too). */
  ldevidCsrSha256?: string;
  /** Base64 DER ECDSA signature by the IDevID key. */
  signature: string;
}

/** The bytes of a new challenge (compact JSON in a fixed key order) and its model. */
export function createChallenge(o: { device: string; idevidSha256: string; nonce: Uint8Array; now: Date; ttlSeconds: number }): {
  bytes: Uint8Array;
  challenge: Challenge;
} {
  if (o.nonce.length < 16) throw new TypeError('a challenge nonce needs at least 16 bytes');
  const time = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const challenge: Challenge = {
    type: CHALLENGE_TYPE,
    device: o.device,
    idevidSha256: o.idevidSha256,
    nonce: toBase64(o.nonce),
    issuedAt: time(o.now),
    expiresAt: time(new Date(o.now.getTime() + o.ttlSeconds * 1000)),
  };
  return { bytes: utf8(JSON.stringify(challenge) + '\n'), challenge };
}

function bad(what: string): CustodyError {
  return new CustodyError('ERR_CHALLENGE_MALFORMED', what);
}

/** The JSON of a challenge or a response, strictly: the device signs these bytes and the verifier reads them. */
function strictJSON(bytes: Uint8Array, what: 'challenge' | 'response'): Record<string, unknown> {
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch {
    throw bad(`${what} is not UTF-8 JSON`);
  }
  return parseStrictJSON(text, { code: 'ERR_CHALLENGE_MALFORMED', what }) as Record<string, unknown>;
}

/**
 * Parses challenge bytes strictly (strict JSON: no member name twice, see `parseStrictJSON`).
 * @throws ERR_CHALLENGE_MALFORMED
 */
export function parseChallenge(bytes: Uint8Array): Challenge {
  const v = strictJSON(bytes, 'challenge');
  const keys = ['type', 'device', 'idevidSha256', 'nonce', 'issuedAt', 'expiresAt'];
  if (typeof v !== 'object' || v === null || Object.keys(v).join() !== keys.join())
    throw bad(`challenge must have exactly the fields ${keys.join(', ')}, in that order`);
  if (v.type !== CHALLENGE_TYPE) throw bad(`challenge type is not ${CHALLENGE_TYPE}`);
  for (const k of keys) if (typeof v[k] !== 'string') throw bad(`challenge ${k} is not a string`);
  if (!/^[0-9a-f]{64}$/.test(v.idevidSha256 as string)) throw bad('challenge idevidSha256 is not 64 lower-case hex digits');
  const nonce = fromBase64(v.nonce as string);
  if (!nonce || nonce.length < 16) throw bad('challenge nonce is not base64 of at least 16 bytes');
  // The form createChallenge writes, and only that: Date.parse also takes "2030", "Tue, 1 Jan 2030" and local
  // times, which two readers may place at different instants.
  for (const k of ['issuedAt', 'expiresAt']) if (!isStatementTime(v[k])) throw bad(`challenge ${k} is not a UTC time YYYY-MM-DDThh:mm:ssZ`);
  return v as unknown as Challenge;
}

/**
 * The device side: signs the challenge with the IDevID key, together with the hash of `ldevidCsr` (the DER of the
 * LDevID request it sends with this activation) when given.
 * @throws ERR_CHALLENGE_MALFORMED
 */
export async function respondToChallenge(
  challengeBytes: Uint8Array,
  key: PrivateKeyHandle,
  provider: CryptoProvider,
  ldevidCsr?: Uint8Array,
): Promise<Uint8Array> {
  parseChallenge(challengeBytes);
  const ldevidCsrSha256 = ldevidCsr === undefined ? undefined : toHex(await provider.digest('SHA-256', ldevidCsr));
  const sig = await provider.sign(key, possessionMessage(challengeBytes, ldevidCsrSha256));
  const signature = toBase64(ecdsaP1363ToDER(sig));
  const response: ChallengeResponse =
    ldevidCsrSha256 === undefined
      ? { type: RESPONSE_TYPE, challenge: toBase64(challengeBytes), signature }
      : { type: RESPONSE_TYPE, challenge: toBase64(challengeBytes), ldevidCsrSha256, signature };
  return utf8(JSON.stringify(response) + '\n');
}

/**
 * Parses a response strictly (strict JSON, see `parseStrictJSON`), returning it with the challenge it answers.
 * @throws ERR_CHALLENGE_MALFORMED
 */
export function parseChallengeResponse(bytes: Uint8Array): {
  response: ChallengeResponse;
  challengeBytes: Uint8Array;
  challenge: Challenge;
  signature: Uint8Array;
} {
  const v = strictJSON(bytes, 'response');
  const fields = typeof v === 'object' && v !== null ? Object.keys(v).join() : '';
  if ((fields !== 'type,challenge,signature' && fields !== 'type,challenge,ldevidCsrSha256,signature') || v.type !== RESPONSE_TYPE) {
    throw bad(`response must be a ${RESPONSE_TYPE} object with type, challenge, (ldevidCsrSha256,) signature`);
  }
  if (v.ldevidCsrSha256 !== undefined && (typeof v.ldevidCsrSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(v.ldevidCsrSha256)))
    throw bad('response ldevidCsrSha256 is not 64 lower-case hex digits');
  const challengeBytes = typeof v.challenge === 'string' ? fromBase64(v.challenge) : undefined;
  const signature = typeof v.signature === 'string' ? fromBase64(v.signature) : undefined;
  if (!challengeBytes || !signature) throw bad('response challenge or signature is not base64');
  return { response: v as unknown as ChallengeResponse, challengeBytes, challenge: parseChallenge(challengeBytes), signature };
}

/** What the verifier's store says of a nonce when asked to consume it. */
export type NonceState = 'consumed' | 'already-used' | 'unknown';

/** Where a verifier spends the challenges it issued (the store implements it): activation consumes one. */
export interface ChallengeRegistry {
  /** Marks the nonce used; reports whether it was outstanding. */
  consumeChallenge(nonceHex: string): Promise<NonceState>;
}

/** A challenge as the verifier that issued it recorded it. */
export interface IssuedChallenge {
  /** The challenge file's exact bytes, as written when it was issued. */
  readonly bytes: Uint8Array;
  /** True once an activation spent it. */
  readonly used: boolean;
}

/** Where a verifier reads back the challenges it issued (the store implements it): verification reads only. */
export interface ChallengeRecords {
  /** The challenge issued under this nonce, or undefined when this verifier never issued it. */
  readChallenge(nonceHex: string): Promise<IssuedChallenge | undefined>;
}

export interface PossessionResult {
  ok: boolean;
  code?: string;
  reason: string;
  /** Hex of the challenge nonce the response answers, once it was found among the verifier's own challenges. */
  nonceHex?: string;
  /** When ok: the hash of the LDevID request the device signed with the challenge, if it signed one. */
  ldevidCsrSha256?: string;
}

/**
 * Checks a response against the verifier's own record of the challenge it answers: the response only points at
 * the record (by its nonce); what was challenged (which device, until when) is read from the record, and the
 * device must have signed exactly the recorded bytes with the key of `idevidSpki`. Reads, never consumes: an
 * activation spends the nonce, atomically with recording the activation.
 * Codes: ERR_VERIFY_POSSESSION_MALFORMED, _UNKNOWN (never issued here), _REPLAY (spent), _CHALLENGE (the response
 * carries other bytes than were issued), _DEVICE (issued for another device certificate), _EXPIRED, _SIGNATURE.
 * @throws whatever the records port throws (a store failure)
 */
export async function verifyChallengeResponse(o: {
  response: Uint8Array;
  idevidSha256: string;
  idevidSpki: Uint8Array;
  now: Date;
  provider: CryptoProvider;
  records: ChallengeRecords;
}): Promise<PossessionResult> {
  let parsed;
  try {
    parsed = parseChallengeResponse(o.response);
  } catch (e) {
    return { ok: false, code: 'ERR_VERIFY_POSSESSION_MALFORMED', reason: (e as Error).message };
  }
  const nonceHex = toHex(fromBase64(parsed.challenge.nonce)!);
  const issued = await o.records.readChallenge(nonceHex);
  if (!issued) return { ok: false, code: 'ERR_VERIFY_POSSESSION_UNKNOWN', reason: 'this verifier never issued the challenge the response answers' };
  if (issued.used)
    return {
      ok: false,
      code: 'ERR_VERIFY_POSSESSION_REPLAY',
      reason: 'the challenge the response answers was spent by an activation (a replayed response)',
      nonceHex,
    };
  if (!equalBytes(issued.bytes, parsed.challengeBytes)) {
    return {
      ok: false,
      code: 'ERR_VERIFY_POSSESSION_CHALLENGE',
      reason: 'the response answers an edited challenge: its bytes differ from the challenge this verifier issued under that nonce',
      nonceHex,
    };
  }
  let challenge: Challenge;
  try {
    challenge = parseChallenge(issued.bytes);
  } catch (e) {
    return { ok: false, code: 'ERR_VERIFY_POSSESSION_MALFORMED', reason: `the recorded challenge does not parse: ${(e as Error).message}`, nonceHex };
  }
  if (challenge.idevidSha256 !== o.idevidSha256)
    return {
      ok: false,
      code: 'ERR_VERIFY_POSSESSION_DEVICE',
      reason: `the challenge was issued for another device certificate (${challenge.device})`,
      nonceHex,
    };
  if (Date.parse(challenge.expiresAt) < o.now.getTime())
    return { ok: false, code: 'ERR_VERIFY_POSSESSION_EXPIRED', reason: `the challenge expired at ${challenge.expiresAt}`, nonceHex };
  const curve = spkiCurve(o.idevidSpki);
  let ok = false;
  if (curve) {
    try {
      ok = await o.provider.verify(
        await o.provider.importPublicKey(o.idevidSpki),
        possessionMessage(issued.bytes, parsed.response.ldevidCsrSha256),
        ecdsaDERToP1363(parsed.signature, curve),
      );
    } catch {
      ok = false;
    }
  }
  if (!ok) return { ok: false, code: 'ERR_VERIFY_POSSESSION_SIGNATURE', reason: 'the response is not signed by the device identity key', nonceHex };
  const ldevid = parsed.response.ldevidCsrSha256;
  const reason = `the device holds the key of its identity certificate (challenge of ${challenge.issuedAt}${ldevid ? ', signed with its LDevID request' : ''})`;
  return ldevid ? { ok: true, reason, nonceHex, ldevidCsrSha256: ldevid } : { ok: true, reason, nonceHex };
}
