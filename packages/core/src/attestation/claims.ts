/**
 * The claims vocabulary: the security controls a manufacturer builds in and later parties enable, and the few
 * facts around them (firmware installed, product built into). docs/claims.md is the reader's version.
 *
 * A claims object maps a claim name to its value. Names are the vocabulary below, or vendor extensions
 * `<dns-domain>/<name>` (`acme.example/calibration`) whose value may be any JSON. Across a chain, later
 * attestations override earlier ones field by field (`mergeClaims`).
 */
import { CustodyError } from '../errors.js';
import { quoteBounded } from '../util/strict-json.js';

/** State of a debug or hardware port. */
export type PortState = 'locked' | 'disabled' | 'open';
/** Where the device identity key lives. */
export type KeyStorage = 'secure-element' | 'tpm' | 'trustzone' | 'software';

/** Secure boot; `method` e.g. "HAB", "AHAB", "UEFI", "TF-A". */
export interface SecureBootClaim {
  enabled: boolean;
  method?: string;
}
/** Authentication to the device (no default passwords); `method` e.g. "mtls", "password", "fido2". */
export interface AuthenticationClaim {
  enabled: boolean;
  method?: string;
}
/** Encrypted connections only; `protocols` e.g. ["TLS1.3"]. */
export interface SecureConnectionsClaim {
  enabled: boolean;
  protocols?: string[];
}
/** Storage encryption; `algorithm` e.g. "AES-256-XTS". */
export interface StorageEncryptionClaim {
  enabled: boolean;
  algorithm?: string;
}
/** Only signed firmware updates accepted; optionally the firmware version and image hash it was set up with. */
export interface SignedUpdatesClaim {
  enabled: boolean;
  firmwareVersion?: string;
  firmwareSha256?: string;
}
/**
 * The firmware installed at this step: its version, the image's SHA-256 and, for a signed release, the SHA-256
 * of the release manifest's DER (what `devices verify --releases` checks the image against).
 */
export interface FirmwareClaim {
  version: string;
  sha256: string;
  release?: string;
}
/** Certificate management (enrolment, renewal); `protocol` e.g. "EST", "SCEP", "ACME". */
export interface CertificateManagementClaim {
  enabled: boolean;
  protocol?: string;
}
/** Centrally managed security policy. */
export interface PolicyManagementClaim {
  enabled: boolean;
}
/** Debug ports (JTAG, SWD, debug UART). */
export interface DebugPortsClaim {
  state: PortState;
}
/** Other hardware ports (USB, SD, serial); `ports` names them. */
export interface HardwarePortsClaim {
  state: PortState;
  ports?: string[];
}
/** Device identity: an IDevID exists, and where its key is stored. */
export interface DeviceIdentityClaim {
  idevid: boolean;
  keyStorage?: KeyStorage;
}
/** Security monitoring; `endpoint` where events go. */
export interface MonitoringClaim {
  enabled: boolean;
  endpoint?: string;
}
/** The product an integrator built the device into. */
export interface ProductClaim {
  name: string;
  model?: string;
}
/** Where the device was made: the model and production lot the factory recorded (birth attestations carry it). */
export interface ProductionClaim {
  model?: string;
  lot?: string;
}

/**
 * End-user code validation the activating owner enabled (`devices activate --code-policy`): the policy's name,
 * its identities with their certificates and its scopes. Only an activation attestation's own claim counts: a
 * device enrolls from it (`@custody/core/code-policy` reads `identities` and `scopes` strictly).
 */
export interface CodeValidationClaim {
  enabled: boolean;
  policy?: string;
  identities?: unknown;
  scopes?: unknown;
}

/** A claims object: vocabulary claims plus vendor extensions named `<dns-domain>/<name>`. */
export interface Claims {
  secureBoot?: SecureBootClaim;
  authentication?: AuthenticationClaim;
  secureConnections?: SecureConnectionsClaim;
  storageEncryption?: StorageEncryptionClaim;
  signedUpdates?: SignedUpdatesClaim;
  firmware?: FirmwareClaim;
  certificateManagement?: CertificateManagementClaim;
  policyManagement?: PolicyManagementClaim;
  debugPorts?: DebugPortsClaim;
  hardwarePorts?: HardwarePortsClaim;
  deviceIdentity?: DeviceIdentityClaim;
  monitoring?: MonitoringClaim;
  product?: ProductClaim;
  production?: ProductionClaim;
  codeValidation?: CodeValidationClaim;
  [vendorExtension: `${string}/${string}`]: unknown;
}

/** The names of the vocabulary claims. */
export type ClaimName = Exclude<keyof Claims, `${string}/${string}`>;

/** The type of one claim field in the vocabulary. */
export type FieldType = 'boolean' | 'string' | 'string[]' | 'hex64' | 'json' | readonly string[];
/** One claim field: its type and whether it is required. */
export interface FieldSpec {
  type: FieldType;
  required: boolean;
}

const req = (type: FieldType): FieldSpec => ({ type, required: true });
const opt = (type: FieldType): FieldSpec => ({ type, required: false });
const PORT_STATES = ['locked', 'disabled', 'open'] as const;
const KEY_STORAGE = ['secure-element', 'tpm', 'trustzone', 'software'] as const;

/** The vocabulary: each claim's fields, their types and whether they are required. */
export const CLAIM_VOCABULARY: Readonly<Record<ClaimName, Readonly<Record<string, FieldSpec>>>> = {
  secureBoot: { enabled: req('boolean'), method: opt('string') },
  authentication: { enabled: req('boolean'), method: opt('string') },
  secureConnections: { enabled: req('boolean'), protocols: opt('string[]') },
  storageEncryption: { enabled: req('boolean'), algorithm: opt('string') },
  signedUpdates: { enabled: req('boolean'), firmwareVersion: opt('string'), firmwareSha256: opt('hex64') },
  firmware: { version: req('string'), sha256: req('hex64'), release: opt('hex64') },
  certificateManagement: { enabled: req('boolean'), protocol: opt('string') },
  policyManagement: { enabled: req('boolean') },
  debugPorts: { state: req(PORT_STATES) },
  hardwarePorts: { state: req(PORT_STATES), ports: opt('string[]') },
  deviceIdentity: { idevid: req('boolean'), keyStorage: opt(KEY_STORAGE) },
  monitoring: { enabled: req('boolean'), endpoint: opt('string') },
  product: { name: req('string'), model: opt('string') },
  production: { model: opt('string'), lot: opt('string') },
  codeValidation: { enabled: req('boolean'), policy: opt('string'), identities: opt('json'), scopes: opt('json') },
};

/**
 * `claims` with the `production` claim of a batch added: the model and lot, signed with the birth attestation,
 * so that every store a device reaches can file it under its lot without trusting an unsigned label. A
 * `production` claim the caller gave is kept as it is.
 */
export function withProduction(claims: Claims | undefined, model: string | undefined, lot: string | undefined): Claims | undefined {
  if (claims?.production !== undefined || (model === undefined && lot === undefined)) return claims;
  const production: ProductionClaim = {};
  if (model !== undefined) production.model = model;
  if (lot !== undefined) production.lot = lot;
  return { ...claims, production };
}

// DNS domain (at least two labels, LDH, lower case) / extension name.
// No dot after the slash: a claim path reads dots as steps into a value, so "acme.example/boot.locked" would
// shadow the field "locked" of the claim "acme.example/boot".
const VENDOR_NAME = /^(?=.{1,253}\/)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** True when `name` is a vendor extension name `<dns-domain>/<name>`. */
export function isVendorClaimName(name: string): boolean {
  return VENDOR_NAME.test(name);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Longest field path a message shows: the path is made of names from the input. */
const FIELD_MAX = 160;

function invalid(field: string, what: string): CustodyError {
  return new CustodyError('ERR_CLAIMS_INVALID', `claims: ${field.length > FIELD_MAX ? `${field.slice(0, FIELD_MAX)}...` : field} ${what}`);
}

function checkField(v: unknown, type: FieldType, field: string): unknown {
  if (type === 'boolean') {
    if (typeof v !== 'boolean') throw invalid(field, 'must be a boolean');
  } else if (type === 'string') {
    if (typeof v !== 'string' || v.length === 0) throw invalid(field, 'must be a non-empty string');
  } else if (type === 'hex64') {
    if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw invalid(field, 'must be 64 lower-case hex digits');
  } else if (type === 'json') {
    // Structured data whose reader is its consumer's (a device reads a code policy strictly): any JSON here.
    return copyJSON(v, field);
  } else if (type === 'string[]') {
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s.length === 0)) throw invalid(field, 'must be an array of non-empty strings');
    return [...(v as string[])];
  } else if (typeof v !== 'string' || !type.includes(v)) {
    throw invalid(field, `must be one of ${type.map((t) => `"${t}"`).join(', ')}`);
  }
  return v;
}

/** Deep copy of a JSON value, refusing anything JSON cannot carry. */
function copyJSON(v: unknown, field: string, depth = 0): unknown {
  if (depth > 32) throw invalid(field, 'is nested too deeply');
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw invalid(field, 'must be a finite number');
    return v;
  }
  if (Array.isArray(v)) return v.map((x, i) => copyJSON(x, `${field}[${i}]`, depth + 1));
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // Assigning it would set the copy's prototype instead: the member would vanish from the signed encoding.
      if (k === '__proto__') throw invalid(field, 'has a member named "__proto__", which a JavaScript object cannot hold');
      out[k] = copyJSON(x, `${field}.${k}`, depth + 1);
    }
    return out;
  }
  throw invalid(field, 'must be a JSON value');
}

/**
 * Validates a claims object (from JSON or built in code) and returns a fresh copy.
 * @throws ERR_CLAIMS_INVALID when `json` is not an object or a field has the wrong type (message names `claim.field`);
 *   ERR_CLAIMS_UNKNOWN for a name that is neither in the vocabulary nor a vendor extension `<dns-domain>/<name>`
 */
export function parseClaims(json: unknown): Claims {
  if (!isPlainObject(json)) throw invalid('claims', 'must be a JSON object');
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(json)) {
    const spec = Object.hasOwn(CLAIM_VOCABULARY, name) ? CLAIM_VOCABULARY[name as ClaimName] : undefined;
    if (!spec) {
      if (!isVendorClaimName(name)) {
        throw new CustodyError('ERR_CLAIMS_UNKNOWN', `claims: unknown claim ${quoteBounded(name)} (vendor extensions are named <dns-domain>/<name>)`);
      }
      out[name] = copyJSON(value, name);
      continue;
    }
    if (!isPlainObject(value)) throw invalid(name, 'must be an object');
    const claim: Record<string, unknown> = {};
    for (const [field, fs] of Object.entries(spec)) {
      if (!(field in value)) {
        if (fs.required) throw invalid(`${name}.${field}`, 'is missing');
        continue;
      }
      claim[field] = checkField(value[field], fs.type, `${name}.${field}`);
    }
    for (const field of Object.keys(value)) if (!Object.hasOwn(spec, field)) throw invalid(`${name}.${field}`, 'is not a field of this claim');
    out[name] = claim;
  }
  return out as Claims;
}

/**
 * The effective claims of a chain: claims of later attestations override earlier ones field by field within
 * each claim (a vendor extension whose values are both objects merges the same way; otherwise the later value
 * replaces the earlier one). Inputs are not modified.
 */
export function mergeClaims(list: readonly Claims[]): Claims {
  const out: Record<string, unknown> = {};
  for (const claims of list) {
    for (const [name, value] of Object.entries(claims)) {
      const prev = out[name];
      out[name] = isPlainObject(prev) && isPlainObject(value) ? { ...prev, ...value } : value;
    }
  }
  return out as Claims;
}

const encodedCache = new Map<string, string>();
const CACHE_LIMIT = 256;

/**
 * The canonical JSON of a claims object after validating it. A factory signs thousands of statements with the
 * same claims, so results are remembered by the claims' plain JSON text (bounded, oldest dropped first): a
 * repeat costs one JSON.stringify.
 * @throws ERR_CLAIMS_UNKNOWN / ERR_CLAIMS_INVALID as `parseClaims`
 */
export function encodeClaims(claims: Claims): string {
  const key = JSON.stringify(claims);
  const hit = typeof key === 'string' ? encodedCache.get(key) : undefined;
  if (hit !== undefined) return hit;
  const text = canonicalJSON(parseClaims(claims));
  if (typeof key === 'string') {
    if (encodedCache.size >= CACHE_LIMIT) encodedCache.delete(encodedCache.keys().next().value!);
    encodedCache.set(key, text);
  }
  return text;
}

/** Compact JSON with object keys sorted (UTF-16 order) at every level: one claims object, one byte string. */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(',')}]`;
  if (isPlainObject(v)) {
    const keys = Object.keys(v).sort();
    let s = '{';
    for (let i = 0; i < keys.length; i++) s += (i ? ',' : '') + JSON.stringify(keys[i]) + ':' + canonicalJSON(v[keys[i]!]);
    return s + '}';
  }
  return JSON.stringify(v);
}
