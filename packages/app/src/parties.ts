/** Parties as signers and recipients of attestations. */
import { existsSync } from 'node:fs';
// Deep imports: on the lean launcher's path (see context.ts).
import { CustodyError } from '@custody/core/errors';
import { createAttestationSigner, type AttestationSigner } from '@custody/core/attestation';
import { parseClaims, type Claims } from '@custody/core/attestation';
import { parseStrictJSON, quoteBounded } from '@custody/core/util';
import { decodePEM, encodePEM } from '@custody/core/x509';
import { toHex } from '@custody/core/util';
import { parseCertificate } from '@custody/core/x509';
import { attestationSignerProblem } from '@custody/core/attestation';
import type { PartyRecord, Store } from '@custody/store/registry';
import { loadKeyAsync, provider, readCertificateFile, readInputFile } from './context.js';

/**
 * The attestation signer of one of the store's own parties: `name`, or the only party holding a key.
 * @throws ERR_USAGE_PARTY when the party is unknown, has no key here, or the choice is ambiguous; the key's codes
 */
export async function loadSigner(
  store: Store,
  name: string | undefined,
  passphrase: string | undefined,
): Promise<{ party: PartyRecord; signer: AttestationSigner }> {
  const party = await signingParty(store, name);
  return { party, signer: await partySigner(store, party, passphrase) };
}

/**
 * One of the store's own parties with a key: `name`, or the only one.
 * @throws ERR_USAGE_PARTY when the party is unknown, has no key here, or the choice is ambiguous
 */
export async function signingParty(store: Store, name: string | undefined): Promise<PartyRecord> {
  const own = (await store.listParties()).filter((p) => p.key && p.role === undefined);
  const party = name === undefined ? (own.length === 1 ? own[0] : undefined) : own.find((p) => p.name === name);
  if (!party) {
    const names = own.map((p) => p.name).join(', ') || 'none';
    throw new CustodyError(
      'ERR_USAGE_PARTY',
      name === undefined
        ? `give --party (this store's parties with keys: ${names})`
        : `no party "${name}" with a key in ${store.location} (parties with keys: ${names})`,
    );
  }
  return party;
}

/** The attestation signer of a party `signingParty` found, its key derived off this thread (`loadKeyAsync`). @throws the key's codes */
export async function partySigner(store: Store, party: PartyRecord, passphrase: string | undefined): Promise<AttestationSigner> {
  const certificate = decodePEM(party.certificate, ['CERTIFICATE']);
  return createAttestationSigner({ certificate, key: await loadKeyAsync(store, party.key!, passphrase), provider });
}

/**
 * Refuses a certificate that cannot sign custody attestations (a CA, a device's IDevID, a key for another
 * purpose): a device handed to it could never be handed on, as no step it signs would verify.
 * @throws ERR_RECIPIENT_NOT_PARTY, with the signer profile's reason and code
 */
function requireAttestationParty(der: Uint8Array, what: string): void {
  let problem;
  try {
    problem = attestationSignerProblem(parseCertificate(der));
  } catch (e) {
    throw e instanceof CustodyError ? e.withFile(what) : e;
  }
  if (problem) throw new CustodyError('ERR_RECIPIENT_NOT_PARTY', `${what}: not an attestation party certificate: ${problem.reason}`, { file: what });
}

/**
 * The SPKI SHA-256 of a recipient given as a certificate file or as a party name known to the store; either must
 * be an attestation party's certificate, checked before anything is signed or recorded.
 * @throws ERR_INPUT_READ, ERR_CERT_PARSE (naming the file), ERR_USAGE_PARTY, ERR_RECIPIENT_NOT_PARTY
 */
export async function resolveRecipient(store: Store, to: string): Promise<{ spkiSha256: string; label: string }> {
  if (existsSync(to)) {
    const { der, info } = readCertificateFile(to);
    requireAttestationParty(der, to);
    return { spkiSha256: toHex(await provider.digest('SHA-256', info.spki)), label: info.subjectText };
  }
  const party = await store.getParty(to);
  if (!party) throw new CustodyError('ERR_USAGE_PARTY', `--to ${to}: neither a certificate file nor a party known to ${store.location}`);
  requireAttestationParty(decodePEM(party.certificate, ['CERTIFICATE']), `--to ${to} (party "${party.name}")`);
  return { spkiSha256: party.spkiSha256, label: party.name };
}

/**
 * The value of a YAML claims file, read as strictly as strict JSON: a YAML map may hold keys that differ as
 * YAML (`1` and `"1"`, `null` and `""`) but become the same JavaScript property, the later silently replacing
 * the earlier, and a collection as a key becomes its text. Both are refused; the `yaml` library itself refuses
 * keys equal as YAML and keeps `__proto__` as an own property, which `parseClaims` then refuses.
 * @throws Error (the caller names the file) on a syntax error or such a key
 */
async function parseClaimsYAML(text: string): Promise<unknown> {
  const { isScalar, parseDocument, visit } = await import('yaml');
  // Size, nesting, token count, blank runs and aliases first (issue 19); keys below with a Set per mapping,
  // as the library's own uniqueKeys check is quadratic.
  const { checkYAMLLimits } = await import('@custody/core/templates');
  try {
    checkYAMLLimits(text, 'claims', 'ERR_CLAIMS_FILE');
  } catch (e) {
    throw new Error(
      (e as Error).message.replace(/^claims(?::(\d+))?: /, (_, line?: string) => (line ? `line ${line}: ` : '')),
      { cause: e },
    );
  }
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length > 0) throw doc.errors[0]!;
  visit(doc, {
    Map(_, map) {
      const names = new Set<string>();
      for (const { key } of map.items) {
        if (!isScalar(key)) throw new Error('a key is not a plain value');
        const name = key.value === null ? '' : String(key.value);
        if (names.has(name)) throw new Error(`duplicate key ${quoteBounded(name)}`);
        names.add(name);
      }
    },
  });
  return doc.toJS();
}

/**
 * Reads a claims file (JSON, or YAML for .yaml/.yml) and validates it against the vocabulary. Both are read
 * strictly: no key twice in one object, none named `__proto__` (see `parseStrictJSON`).
 * @throws ERR_INPUT_READ, ERR_INPUT_NOT_FILE, ERR_INPUT_TOO_LARGE, ERR_CLAIMS_* and ERR_CLAIMS_FILE naming the file
 */
export async function readClaimsFile(file: string): Promise<Claims> {
  const text = readInputFile(file, 'claims').toString('utf8');
  const yaml = /\.ya?ml$/i.test(file);
  let value: unknown;
  try {
    value = yaml ? await parseClaimsYAML(text) : parseStrictJSON(text, { code: 'ERR_CLAIMS_FILE', what: 'claims' });
  } catch (e) {
    const detail = e instanceof CustodyError ? e.message.replace(/^claims: /, '') : (e as Error).message.split('\n')[0]!.replace(/:$/, '');
    throw new CustodyError('ERR_CLAIMS_FILE', `${file}: not valid ${yaml ? 'YAML' : 'JSON'} (${detail})`, { file });
  }
  try {
    return parseClaims(value);
  } catch (e) {
    throw e instanceof CustodyError ? e.withFile(file) : e;
  }
}

/**
 * Records another organisation's party by its certificate, so that `--to NAME` and reports can name it.
 * @throws ERR_CONFLICT_NAME, ERR_CERT_PARSE, ERR_RECIPIENT_NOT_PARTY (not an attestation party certificate)
 */
export async function importParty(store: Store, name: string, file: string, now: Date): Promise<PartyRecord> {
  const { der, info } = readCertificateFile(file);
  requireAttestationParty(der, file);
  const record: PartyRecord = {
    name,
    organization: info.subjectAttributes.find(([k]) => k === 'O')?.[1],
    certificate: encodePEM(der, 'CERTIFICATE'),
    spkiSha256: toHex(await provider.digest('SHA-256', info.spki)),
    certSha256: toHex(await provider.digest('SHA-256', der)),
    createdAt: now.toISOString(),
  };
  await store.addParty(record);
  return record;
}
