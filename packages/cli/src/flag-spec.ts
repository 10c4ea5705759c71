/**
 * Flag definitions as plain data. The oclif command classes build their flags from these (flags.ts), and the
 * lean launcher (fast/launch.ts) parses the same definitions with node:util, so that a hot command runs
 * without loading oclif and both paths accept exactly the same flags.
 */
export type FlagSpec =
  | { type: 'string'; description: string; required?: boolean; default?: string; env?: string; exactlyOne?: string[] }
  | { type: 'integer'; description: string; required?: boolean; default?: number; min?: number; exactlyOne?: string[] }
  | { type: 'boolean'; description: string; default?: boolean; allowNo?: boolean };

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** Keeps the literal types of a set of flag definitions while checking them. */
const specs = <T extends Record<string, FlagSpec>>(s: T): T => s;

export const STORE_FLAG = specs({
  store: { type: 'string' as const, description: 'store folder, or postgres:// URL', env: 'CUSTODY_STORE', default: './.custody' },
});

export const PASSPHRASE_FLAGS = specs({
  'passphrase-file': { type: 'string' as const, description: 'file whose first line is the key passphrase (else CUSTODY_PASSPHRASE)' },
  'no-encrypt': { type: 'boolean' as const, description: 'write new private keys unencrypted (not recommended)', default: false },
});

export const TEMPLATES_FLAG = specs({
  templates: { type: 'string' as const, description: 'templates folder (else CUSTODY_TEMPLATES, else the shipped certs-templates/)' },
});

export const PROVISION_FLAGS = specs({
  ca: { type: 'string' as const, description: 'issuing CA (name in the store)', required: true as const },
  csr: { type: 'string' as const, description: 'a CSR file (PEM or DER) or a folder of them' },
  generate: { type: 'integer' as const, description: 'make N device keys on the line', min: 1 },
  stdin: { type: 'boolean' as const, description: 'station mode: stay running, one CSR a line on stdin, one JSON answer a line on stdout', default: false },
  'serial-pattern': { type: 'string' as const, description: 'device serials for --generate: {seq}, {seq:6}, {rand:8}, {lot}, {model}', default: 'SN{seq:6}' },
  start: { type: 'integer' as const, description: 'first {seq} value', default: 1, min: 0 },
  model: { type: 'string' as const, description: "device model, recorded and put in the subject CN (without it: the CSR's CN, else the serial)" },
  lot: { type: 'string' as const, description: 'production lot, recorded' },
  template: { type: 'string' as const, description: 'certificate template', default: 'idevid' },
  out: { type: 'string' as const, description: 'folder for issued certificates (and generated keys); made when missing' },
  force: { type: 'boolean' as const, description: 'replace certificate and key files already in --out', default: false },
  party: { type: 'string' as const, description: "party signing the birth attestations (default: the store's only party)" },
  to: { type: 'string' as const, description: 'first custodian: a party certificate file or party name (default: the signing party)' },
  claims: { type: 'string' as const, description: 'claims file (JSON or YAML) for the birth attestations; see docs/claims.md' },
  'no-attest': { type: 'boolean' as const, description: 'issue certificates only, without birth attestations', default: false },
  ...TEMPLATES_FLAG,
  ...PASSPHRASE_FLAGS,
});
