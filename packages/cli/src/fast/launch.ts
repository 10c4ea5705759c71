/**
 * The lean launcher. A factory station that starts `custody devices provision` once per device pays the
 * process start every time, and oclif alone takes longer to load than Node itself. For the commands listed
 * here the launcher parses the same flag definitions (flag-spec.ts) with node:util and calls the same
 * function the oclif command calls. Anything it does not handle exactly (help, unknown or malformed flags)
 * is left to oclif, so behaviour and messages stay those of the full CLI.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { FlagSpec } from '../flag-spec.js';
import { failureEnvelope, failureOf, successEnvelope, writeEnvelope, writeErrorLine } from '../envelope.js';

interface FastCommand {
  flags: () => Promise<Readonly<Record<string, FlagSpec>>>;
  run: (flags: any, io: { json: boolean; log(line: string): void }) => Promise<unknown>;
}

const COMMANDS: Record<string, FastCommand> = {
  'devices provision': {
    flags: async () => {
      const m = await import('../flag-spec.js');
      return m.PROVISION_FLAGS;
    },
    run: async (flags, io) => (await import('../provision-command.js')).runProvision(flags, io),
  },
};

/** Parses argv for `spec`, or returns undefined when oclif should handle it. */
function parse(argv: string[], spec: Readonly<Record<string, FlagSpec>>): Record<string, unknown> | undefined {
  const options: NonNullable<ParseArgsConfig['options']> = { json: { type: 'boolean' } };
  for (const [name, s] of Object.entries(spec)) options[name] = { type: s.type === 'boolean' ? 'boolean' : 'string', multiple: s.type === 'list' };
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch {
    return undefined;
  }
  const out: Record<string, unknown> = { json: values.json === true };
  for (const [name, s] of Object.entries(spec)) {
    let v = values[name];
    if (v === undefined && s.type === 'string' && s.env && process.env[s.env]) v = process.env[s.env];
    if (v === undefined && 'default' in s) v = s.default;
    if (s.type === 'integer' && typeof v === 'string') {
      if (!/^-?\d+$/.test(v)) return undefined;
      v = Number(v);
      if (s.min !== undefined && (v as number) < s.min) return undefined;
      if (s.max !== undefined && (v as number) > s.max) return undefined;
    }
    if (v === undefined && 'required' in s && s.required) return undefined;
    out[name] = v;
  }
  for (const s of Object.values(spec)) {
    if ('exactlyOne' in s && s.exactlyOne && s.exactlyOne.filter((n) => out[n] !== undefined).length !== 1) return undefined;
  }
  return out;
}

/** Runs a fast command and returns its exit code, or undefined to fall back to oclif. */
export async function launch(argv: string[]): Promise<number | undefined> {
  const key = argv.slice(0, 2).join(' ');
  const cmd = COMMANDS[key];
  if (!cmd || argv.includes('--help') || argv.includes('-h')) return undefined;
  const flags = parse(argv.slice(2), await cmd.flags());
  if (!flags) return undefined;
  const json = flags.json === true;
  try {
    const result = await cmd.run(flags, { json, log: (l) => (json ? undefined : process.stdout.write(l + '\n')) });
    if (json) await writeEnvelope(successEnvelope(key, result));
    return 0;
  } catch (e) {
    const { report, data } = failureOf(e);
    if (json) await writeEnvelope(failureEnvelope(key, report, data));
    else writeErrorLine(report);
    return report.exit;
  }
}
