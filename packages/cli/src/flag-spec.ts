/**
 * Flag definitions as plain data: the one flag style of every command. The oclif command classes build their
 * flags from these (flags.ts), and the lean launcher (fast/launch.ts) parses the same definitions with
 * node:util, so that a hot command runs without loading oclif and both paths accept exactly the same flags.
 */
interface Common {
  description: string;
  env?: string;
  exactlyOne?: string[];
}

/** `list` is a repeatable string flag: absent means empty, so help shows no `[default: ]`. */
export type FlagSpec =
  | (Common & { type: 'string'; required?: boolean; default?: string })
  | (Common & { type: 'list'; required?: boolean })
  | (Common & { type: 'integer'; required?: boolean; default?: number; min?: number; max?: number })
  | (Common & { type: 'boolean'; default?: boolean; allowNo?: boolean });

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** Keeps the literal types of a set of flag definitions while checking them. */
export const flagSpecs = <const T extends Record<string, FlagSpec>>(s: T): T => s;

/** Only for commands that open a store: a flag that does nothing is not offered. */
export const STORE_FLAG = flagSpecs({
  store: { type: 'string', description: 'store folder, or postgres:// URL', env: 'CUSTODY_STORE', default: './.custody' },
  keys: { type: 'string', description: 'folder of the key files of a PostgreSQL store (an embedded store keeps its own)', env: 'CUSTODY_KEYS' },
});

export const PASSPHRASE_FILE_FLAG = flagSpecs({
  'passphrase-file': { type: 'string', description: 'file whose first line is the key passphrase (else CUSTODY_PASSPHRASE)' },
});

export const PASSPHRASE_FLAGS = flagSpecs({
  ...PASSPHRASE_FILE_FLAG,
  'no-encrypt': { type: 'boolean', description: 'write new private keys unencrypted (needs --insecure too)', default: false },
  insecure: { type: 'boolean', description: 'with --no-encrypt: yes, write private keys in the clear (warns on stderr)', default: false },
});

export const TEMPLATES_FLAG = flagSpecs({
  templates: { type: 'string', description: 'templates folder (else CUSTODY_TEMPLATES, else the shipped certs-templates/)' },
});

/** The device selection of handoff and export. */
export const SELECTION_FLAGS = flagSpecs({
  serial: { type: 'list', description: 'device serial (repeatable)' },
  lot: { type: 'string', description: 'every device of a production lot' },
  list: { type: 'string', description: 'file with one serial a line' },
});

/** What verify and activate check a bundle against. */
export const VERIFICATION_FLAGS = flagSpecs({
  trust: { type: 'list', description: 'trust anchor certificate file (repeatable)' },
  ca: { type: 'list', description: 'NAME=FILE: a trust anchor the workflow names NAME (repeatable)' },
  workflow: { type: 'string', description: 'workflow file (YAML), or the name of a shipped one (supply-chain)' },
  policy: { type: 'string', description: 'policy name (baseline, retail, healthcare) or file' },
  crl: { type: 'list', description: 'CRL file, DER or PEM (repeatable)' },
  'log-key': { type: 'list', description: 'verifier key of a trusted transparency log: a file (log.pub) or the key string (repeatable)' },
  'log-consistency': {
    type: 'list',
    description: 'consistency proof file written by "custody log consistency --out", between the checkpoint this store saw and the bundle\'s (repeatable)',
  },
  releases: {
    type: 'string',
    description: 'folder of release manifests and withdrawal lists: each installed firmware must be a signed, unwithdrawn release for the model',
  },
});

/** The device agent's state folder: its enrollment (`agent enroll`, `agent check-code`). */
export const AGENT_STATE_FLAG = flagSpecs({
  state: { type: 'string', description: "the agent's state folder (its enrollment)", env: 'CUSTODY_AGENT_STATE', default: '.custody-agent' },
});

export const PROVISION_FLAGS = flagSpecs({
  ...STORE_FLAG,
  ca: { type: 'string', description: 'issuing CA (name in the store)', required: true },
  csr: { type: 'string', description: 'a CSR file (PEM or DER) or a folder of them' },
  generate: { type: 'integer', description: 'make N device keys on the line', min: 1 },
  stdin: { type: 'boolean', description: 'station mode: stay running, one CSR a line on stdin, one JSON answer a line on stdout', default: false },
  'serial-pattern': { type: 'string', description: 'device serials for --generate: {seq}, {seq:6}, {rand:8}, {lot}, {model}', default: 'SN{seq:6}' },
  start: { type: 'integer', description: 'first {seq} value', default: 1, min: 0 },
  model: { type: 'string', description: "device model, recorded and put in the subject CN (without it: the CSR's CN, else the serial)" },
  lot: { type: 'string', description: 'production lot, recorded' },
  template: { type: 'string', description: 'certificate template', default: 'idevid' },
  out: { type: 'string', description: 'folder for issued certificates (and generated keys); made when missing' },
  force: { type: 'boolean', description: 'replace certificate and key files already in --out', default: false },
  party: { type: 'string', description: "party signing the birth attestations (default: the store's only party)" },
  to: { type: 'string', description: 'first custodian: a party certificate file or party name (default: the signing party)' },
  claims: { type: 'string', description: 'claims file (JSON or YAML) for the birth attestations; see docs/claims.md' },
  'no-attest': { type: 'boolean', description: 'issue certificates only, without birth attestations', default: false },
  'device-passphrase-file': {
    type: 'string',
    description: 'file whose first line is the passphrase for keys made by --generate (else CUSTODY_DEVICE_PASSPHRASE); not the CA passphrase',
  },
  ...TEMPLATES_FLAG,
  ...PASSPHRASE_FLAGS,
});
