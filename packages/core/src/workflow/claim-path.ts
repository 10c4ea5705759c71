/**
 * Claim paths as workflows and policies write them: `secureBoot` (the claim is made), `secureBoot.enabled`
 * (one field of it), or a vendor extension `acme.example/calibration[.field...]`.
 */
import { quoteBounded } from '../util/strict-json.js';
import { CLAIM_VOCABULARY, isVendorClaimName, type ClaimName, type Claims } from '../attestation/claims.js';

/** A checked claim path. `field` is absent when the path names a whole claim. */
export interface ClaimPath {
  /** The path as written. */
  readonly text: string;
  readonly vendor: boolean;
  /** The vocabulary claim name (for a vendor path: the text before the first `.` after the `/`). */
  readonly claim: string;
  readonly field?: string;
}

/** The type of a vocabulary field, as `CLAIM_VOCABULARY` states it. */
export type ClaimFieldType = (typeof CLAIM_VOCABULARY)[ClaimName][string]['type'];

/**
 * Checks a path against the claims vocabulary. Returns the parsed path, or a problem to report.
 * Vendor paths are only checked for a well-formed `<dns-domain>/<name>` prefix: their fields are the vendor's.
 */
export function parseClaimPath(text: string): ClaimPath | { problem: string } {
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const dot = text.indexOf('.', slash);
    const name = dot < 0 ? text : text.slice(0, dot);
    if (!isVendorClaimName(name) && !isVendorClaimName(text)) {
      return { problem: `${quoteBounded(text)} is not a vendor claim path <dns-domain>/<name>[.field]` };
    }
    return dot < 0 ? { text, vendor: true, claim: text } : { text, vendor: true, claim: name, field: text.slice(dot + 1) };
  }
  const [claim, field, ...rest] = text.split('.');
  if (!claim || !Object.hasOwn(CLAIM_VOCABULARY, claim)) {
    return {
      problem: `unknown claim ${quoteBounded(claim ?? '')} (known: ${Object.keys(CLAIM_VOCABULARY).join(', ')}; vendor claims are <dns-domain>/<name>)`,
    };
  }
  if (field === undefined) return { text, vendor: false, claim };
  const fields = CLAIM_VOCABULARY[claim as ClaimName];
  if (rest.length > 0 || !Object.hasOwn(fields, field)) {
    return { problem: `${quoteBounded(text)} is not a field of claim ${claim} (fields: ${Object.keys(fields).join(', ')})` };
  }
  return { text, vendor: false, claim, field };
}

/** The vocabulary type of the field a path names, undefined for whole claims and vendor paths. */
export function claimFieldType(path: ClaimPath): ClaimFieldType | undefined {
  if (path.vendor || path.field === undefined) return undefined;
  return CLAIM_VOCABULARY[path.claim as ClaimName][path.field]?.type;
}

/**
 * The value a path points at in a claims object, undefined when it is not attested. A vendor path resolves
 * against the longest claim name that the claims object holds (vendor names may themselves contain dots).
 */
export function resolveClaimPath(claims: Claims, path: ClaimPath): unknown {
  const record = claims as Record<string, unknown>;
  if (!path.vendor) {
    const claim = record[path.claim];
    if (path.field === undefined) return claim;
    return isRecord(claim) ? claim[path.field] : undefined;
  }
  const parts = path.text.split('.');
  for (let cut = parts.length; cut > 0; cut--) {
    const name = parts.slice(0, cut).join('.');
    if (!name.includes('/') || !Object.hasOwn(record, name)) continue;
    let value: unknown = record[name];
    for (const key of parts.slice(cut)) value = isRecord(value) && Object.hasOwn(value, key) ? value[key] : undefined;
    return value;
  }
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
