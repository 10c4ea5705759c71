#!/usr/bin/env node
/**
 * `npm run fuzz -- [--seconds N] [--parser NAME]... [--seed S] [--inputs N] [--no-save]`: seeded mutations of the
 * seed corpus (test/fixtures/fuzz/seeds/<parser>/, written by scripts/fuzz-seeds.mjs) through every parser
 * family custody exposes to outside input. DESIGN.md: every parser is total and bounded, so for any input a
 * parser returns a value or throws a `CustodyError` (not `ERR_INTERNAL`, with a one-line bounded message),
 * and takes well under a second.
 *
 * An input that breaks this is saved under test/fixtures/fuzz/<parser>/<crash|slow>-<sha256 prefix>.bin (.bin.gz
 * past 16 KiB), where
 * test/fuzz/fuzz.test.ts replays it on every `npm test`. `--seconds N` is the whole budget, split evenly
 * among the parsers run (default 60); `--inputs N` runs exactly N inputs per parser instead (the test does).
 *
 * Parsers listed in test/fixtures/fuzz/allow-list.json belong to work in progress elsewhere: their failures are
 * saved and listed, but do not fail the run. The file is meant to be deleted once that work lands.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CustodyError,
  decodePEMAll,
  derOrPEM,
  parseAttestation,
  parseBundle,
  parseCertificate,
  parseChallenge,
  parseChallengeResponse,
  parseCheckpoint,
  parseClaims,
  parseCRL,
  parseCSR,
  parsePEM,
  parsePolicy,
  parseStatement,
  parseStrictJSON,
  parseTemplate,
  parseVerifierKey,
  parseWorkflow,
  readCertificateInfo,
} from '@custody/core';
import { parseReleaseManifest, parseUpdateState, parseWithdrawalList } from '@custody/core/release';
import { parseCodePolicy, parseCodeValidationClaim, parseEnrollmentRecord } from '@custody/core/code-policy';
import { parseCodeSignature, parseCodeStatement, parseImaSignature } from '@custody/core/code';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = join(ROOT, 'test/fixtures/fuzz');
const SEEDS = join(FIXTURES, 'seeds');
const ALLOW_LIST = join(FIXTURES, 'allow-list.json');

/** An input slower than this is a failure: every parser must stay far below it. */
export const SLOW_MS = 1000;
/** A message longer than this quotes too much of its input. */
const MESSAGE_MAX = 2000;
/** Mutated inputs are cut to this size: the limits under test sit well below it. */
const INPUT_MAX = 2 << 20;

const utf8 = new TextDecoder('utf-8', { fatal: false });
const text = (b) => utf8.decode(b);

/**
 * The parser families: each turns one input into the calls that must each return or throw a CustodyError.
 * A family calls every public entry point that reads that kind of input.
 */
export const PARSERS = {
  certificates: (b) => [() => parseCertificate(b), () => readCertificateInfo(b)],
  csrs: (b) => [() => parseCSR(b)],
  crls: (b) => [() => parseCRL(b)],
  cms: (b) => [() => parseAttestation(b)],
  bundles: (b) => [() => parseBundle(text(b))],
  statements: (b) => [() => parseStatement(b)],
  workflows: (b) => [() => parseWorkflow(text(b), 'fuzz.yaml')],
  policies: (b) => [() => parsePolicy(text(b), 'fuzz.yaml')],
  templates: (b) => [() => parseTemplate(text(b), 'fuzz.yaml')],
  checkpoints: (b) => [() => parseCheckpoint(b), () => parseCheckpoint(text(b)), () => parseVerifierKey(text(b))],
  challenges: (b) => [() => parseChallenge(b)],
  responses: (b) => [() => parseChallengeResponse(b)],
  pem: (b) => [() => decodePEMAll(text(b), ['CERTIFICATE', 'X509 CRL']), () => parsePEM(text(b), 'CERTIFICATE'), () => derOrPEM(b, ['CERTIFICATE'])],
  claims: (b) => [() => parseClaims(parseStrictJSON(text(b), { code: 'ERR_CLAIMS_FILE', what: 'claims' }))],
  releases: (b) => [() => parseReleaseManifest(b), () => parseWithdrawalList(b), () => parseUpdateState(b)],
  codePolicies: (b) => [() => parseCodePolicy(text(b), 'fuzz.yaml')],
  enrollments: (b) => [
    () => parseEnrollmentRecord(text(b)),
    () => parseCodeValidationClaim(parseStrictJSON(text(b), { code: 'ERR_ENROLL_CLAIM', what: 'claim' })),
  ],
  code: (b) => [() => parseCodeSignature(b), () => parseCodeStatement(b), () => parseImaSignature(b)],
};

/** Parsers whose failures are reported but do not fail a run: { name: why }. */
export function reportOnlyParsers() {
  return existsSync(ALLOW_LIST) ? (JSON.parse(readFileSync(ALLOW_LIST, 'utf8')).reportOnly ?? {}) : {};
}

/** mulberry32: a small seeded PRNG, so that a seed names the same inputs on every machine. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const enc = (s) => new TextEncoder().encode(s);
/** Bytes that mean something to one of the parsers: JSON and YAML syntax, DER headers and lengths, PEM lines. */
const TOKENS = [
  ...[
    '[',
    '{',
    ']',
    '}',
    '"',
    "'",
    ':',
    ',',
    '\n',
    '\r\n',
    '\t',
    ' ',
    '- ',
    '? ',
    '#',
    '*a',
    '&a ',
    '!!binary ',
    '!x ',
    '---\n',
    '...\n',
    '|\n',
    '>-\n',
    '\\',
    '\\u0000',
    '\\ud800',
    '\\"',
  ].map(enc),
  ...[
    '1e999',
    '-0',
    '99999999999999999999999',
    '0x10',
    'null',
    'true',
    '~',
    '""',
    '"__proto__":1,',
    '__proto__',
    '\u2028',
    '\u0000',
    '\ufeff',
    '=',
    '+',
    '—',
  ].map(enc),
  ...['-----BEGIN CERTIFICATE-----\n', '-----END CERTIFICATE-----\n', '-----BEGIN X509 CRL-----\n', '— ', '\n\n'].map(enc),
  Uint8Array.of(0x30, 0x80),
  Uint8Array.of(0x30, 0x84, 0xff, 0xff, 0xff, 0xff),
  Uint8Array.of(0x30, 0x89, 0x01, 0, 0, 0, 0, 0, 0, 0, 0),
  Uint8Array.of(0x30, 0x00),
  Uint8Array.of(0x06, 0x00),
  Uint8Array.of(0x06, 0x01, 0x80),
  Uint8Array.of(0x02, 0x00),
  Uint8Array.of(0x02, 0x02, 0x00, 0x01),
  Uint8Array.of(0x05, 0x00),
  Uint8Array.of(0x01, 0x01, 0x01),
  Uint8Array.of(0x17, 0x0d),
  Uint8Array.of(0x18, 0x0f),
  Uint8Array.of(0xa0, 0x82, 0xff, 0xff),
  Uint8Array.of(0x1f, 0xff, 0xff, 0xff, 0x7f),
  Uint8Array.of(0xff, 0xfe),
  Uint8Array.of(0xc0, 0x80),
];
const INTERESTING = [
  0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0xff, 0x30, 0x31, 0x04, 0x05, 0x06, 0x0a, 0x0d, 0x20, 0x22, 0x27, 0x2c, 0x3a, 0x5b, 0x5d, 0x7b, 0x7d,
  0x2a, 0x26, 0x2d, 0x5c,
];

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One to four mutations of `input`, `others` being the parser's other seeds (for splices). */
export function mutate(input, others, rand) {
  const int = (n) => Math.floor(rand() * n);
  let b = input;
  for (let round = 1 + int(4); round > 0; round--) {
    const at = int(b.length + 1);
    switch (int(10)) {
      case 0: {
        if (b.length === 0) break;
        b = b.slice();
        b[Math.min(at, b.length - 1)] ^= 1 << int(8);
        break;
      }
      case 1: {
        if (b.length === 0) break;
        b = b.slice();
        b[Math.min(at, b.length - 1)] = INTERESTING[int(INTERESTING.length)];
        break;
      }
      case 2:
      case 3:
        b = concat(b.subarray(0, at), TOKENS[int(TOKENS.length)], b.subarray(at));
        break;
      case 4:
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(64))));
        break;
      case 5: {
        const from = int(b.length + 1);
        b = concat(b.subarray(0, at), b.subarray(from, from + 1 + int(256)), b.subarray(at));
        break;
      }
      case 6: {
        // Amplify: a token or a slice of the input many times over (deep nesting, many keys, long names).
        const chunk = rand() < 0.5 ? TOKENS[int(TOKENS.length)] : b.subarray(at, at + 1 + int(16));
        const times = 1 + int(rand() < 0.2 ? 50_000 : 500);
        const parts = new Array(times).fill(chunk);
        b = concat(b.subarray(0, at), ...parts, b.subarray(at));
        break;
      }
      case 7:
        b = b.subarray(0, at);
        break;
      case 8: {
        const other = others[int(others.length)];
        const from = int(other.length + 1);
        b = concat(b.subarray(0, at), other.subarray(from, from + int(other.length - from + 1)), b.subarray(Math.min(b.length, at + int(64))));
        break;
      }
      default: {
        // A DER length: a byte 0x81 to 0x84 followed by random length bytes.
        const i = b.findIndex((x, k) => k >= at && x >= 0x81 && x <= 0x84);
        if (i < 0) break;
        b = b.slice();
        for (let k = 1; k <= b[i] - 0x80 && i + k < b.length; k++) b[i + k] = int(256);
        break;
      }
    }
    if (b.length > INPUT_MAX) b = b.subarray(0, INPUT_MAX);
  }
  return b;
}

/** What went wrong with one input, or undefined when every call returned or threw a proper CustodyError. */
export function check(parser, input, { recheck = true } = {}) {
  const t0 = performance.now();
  for (const call of PARSERS[parser](input)) {
    try {
      call();
    } catch (e) {
      if (!(e instanceof CustodyError))
        return {
          kind: 'crash',
          problem: `${e?.name ?? typeof e}: ${String(e?.message ?? e)
            .split('\n')[0]
            .slice(0, 200)}`,
        };
      if (e.code === 'ERR_INTERNAL' || typeof e.code !== 'string') return { kind: 'crash', problem: `CustodyError ${e.code}: ${e.message.slice(0, 200)}` };
      if (e.message.includes('\n') || e.message.length > MESSAGE_MAX)
        return { kind: 'crash', problem: `${e.code}: message of ${e.message.length} characters over several lines or past ${MESSAGE_MAX}` };
    }
  }
  const ms = performance.now() - t0;
  if (ms <= SLOW_MS) return undefined;
  if (!recheck) return { kind: 'slow', problem: `took ${ms.toFixed(0)} ms (bound ${SLOW_MS} ms)` };
  // Once more before calling it slow: on a shared machine one run can stall on a neighbour's work or a GC.
  const t1 = performance.now();
  for (const call of PARSERS[parser](input)) {
    try {
      call();
    } catch {
      // Already checked above; only the time counts now.
    }
  }
  const again = performance.now() - t1;
  return again > SLOW_MS ? { kind: 'slow', problem: `took ${ms.toFixed(0)} ms, then ${again.toFixed(0)} ms (bound ${SLOW_MS} ms)` } : undefined;
}

/** Fixtures past this size are saved gzipped: amplified inputs repeat themselves and shrink a hundredfold. */
const GZIP_OVER = 16 * 1024;

function save(parser, kind, input) {
  const dir = join(FIXTURES, parser);
  mkdirSync(dir, { recursive: true });
  const name = `${kind}-${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`;
  const file = join(dir, input.length > GZIP_OVER ? `${name}.gz` : name);
  if (!existsSync(file)) writeFileSync(file, input.length > GZIP_OVER ? gzipSync(input) : input);
  return relative(ROOT, file);
}

/** A saved fixture's input. */
export function readFixture(file) {
  const bytes = readFileSync(file);
  return new Uint8Array(file.endsWith('.gz') ? gunzipSync(bytes) : bytes);
}

/** The seed corpus of one parser. */
export function seedsOf(parser) {
  const dir = join(SEEDS, parser);
  return readdirSync(dir)
    .sort()
    .map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

/**
 * Runs the harness. Per parser: its seeds first (they must parse), then mutations until `inputsPerParser`
 * inputs (a number, or one per parser name) or `msPerParser` have passed.
 * @returns per parser: inputs run, inputs per second, slowest input (ms), and failures with the saved file
 */
export function runFuzz({ parsers = Object.keys(PARSERS), seed = 1, inputsPerParser, msPerParser = 4000, saveFailures = true, log = () => {} } = {}) {
  const results = [];
  for (const parser of parsers) {
    if (!PARSERS[parser]) throw new Error(`unknown parser "${parser}" (one of ${Object.keys(PARSERS).join(', ')})`);
    const seeds = seedsOf(parser);
    const rand = prng(seed ^ hashName(parser));
    const failures = [];
    const seen = new Set();
    let inputs = 0;
    let slowest = 0;
    const t0 = performance.now();
    const budget = typeof inputsPerParser === 'object' ? inputsPerParser[parser] : inputsPerParser;
    const done = () => (budget !== undefined ? inputs >= budget : performance.now() - t0 >= msPerParser);
    while (!done()) {
      const input = inputs < seeds.length ? seeds[inputs] : mutate(seeds[Math.floor(rand() * seeds.length)], seeds, rand);
      inputs++;
      const t = performance.now();
      const failure = check(parser, input);
      slowest = Math.max(slowest, performance.now() - t);
      if (!failure) continue;
      const key = `${failure.kind}:${failure.problem.replace(/\d+/g, 'N')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const file = saveFailures ? save(parser, failure.kind, input) : undefined;
      failures.push({ ...failure, file, bytes: input.length });
      log(`  ${parser}: ${failure.kind}: ${failure.problem}${file ? ` (saved ${file})` : ''}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const result = { parser, inputs, perSec: Math.round(inputs / seconds), slowestMs: Math.round(slowest), failures };
    log(
      `${parser.padEnd(13)} ${String(inputs).padStart(8)} inputs ${String(result.perSec).padStart(8)}/s  slowest ${result.slowestMs} ms  ${failures.length === 0 ? 'ok' : `${failures.length} failure(s)`}`,
    );
    results.push(result);
  }
  return results;
}

function hashName(name) {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * Runs every saved failure of `parsers` once more (a slow one a second time only when its family is not
 * report-only: those are known and only listed). @returns every fixture, with its failure if it still fails
 */
export function replayFixtures(parsers = Object.keys(PARSERS)) {
  const reportOnly = reportOnlyParsers();
  const out = [];
  for (const parser of parsers) {
    const dir = join(FIXTURES, parser);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith('.bin') || n.endsWith('.bin.gz'))
      .sort()) {
      const file = join(dir, f);
      const failure = check(parser, readFixture(file), { recheck: !reportOnly[parser] });
      out.push({ parser, file: relative(ROOT, file), failure });
    }
  }
  return out;
}

function parseArgs(argv) {
  const o = { parsers: [], seconds: 60, seed: Date.now() % 1_000_000, inputs: undefined, save: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--seconds') o.seconds = Number(value());
    else if (a === '--parser') o.parsers.push(...value().split(','));
    else if (a === '--seed') o.seed = Number(value());
    else if (a === '--inputs') o.inputs = Number(value());
    else if (a === '--no-save') o.save = false;
    else if (a === '--list') o.list = true;
    else throw new Error(`unknown argument ${a} (--seconds N, --parser NAME, --seed S, --inputs N, --no-save, --list)`);
  }
  if (!(o.seconds > 0) || !Number.isSafeInteger(o.seed) || (o.inputs !== undefined && !(o.inputs > 0)))
    throw new Error('--seconds, --seed and --inputs take positive numbers');
  return o;
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`fuzz: ${e.message}`);
    process.exit(2);
  }
  if (o.list) {
    console.log(Object.keys(PARSERS).join('\n'));
    return;
  }
  const parsers = o.parsers.length > 0 ? o.parsers : Object.keys(PARSERS);
  const unknown = parsers.filter((p) => !PARSERS[p]);
  if (unknown.length > 0) {
    console.error(`fuzz: unknown parser ${unknown.join(', ')} (one of ${Object.keys(PARSERS).join(', ')})`);
    process.exit(2);
  }
  console.log(`fuzz: seed ${o.seed}, ${o.inputs !== undefined ? `${o.inputs} inputs` : `${(o.seconds / parsers.length).toFixed(1)} s`} per parser`);
  const results = runFuzz({
    parsers,
    seed: o.seed,
    inputsPerParser: o.inputs,
    msPerParser: (o.seconds * 1000) / parsers.length,
    saveFailures: o.save,
    log: (l) => console.log(l),
  });
  const reportOnly = reportOnlyParsers();
  const failing = results.filter((r) => r.failures.length > 0);
  for (const r of failing.filter((r) => reportOnly[r.parser]))
    console.log(`fuzz: ${r.parser}: ${r.failures.length} failure(s) reported only (${reportOnly[r.parser]})`);
  if (failing.some((r) => !reportOnly[r.parser])) {
    console.log(
      `fuzz: failures in ${failing
        .filter((r) => !reportOnly[r.parser])
        .map((r) => r.parser)
        .join(', ')}; replay with npx mocha test/fuzz/fuzz.test.ts`,
    );
    process.exitCode = 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
