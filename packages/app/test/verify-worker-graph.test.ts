/**
 * A pallet's verifying thread starts for every `devices verify` of a large folder, and everything it imports is
 * loaded again in it: it must reach core's verifier through its own entry point, never the package barrels that
 * bring YAML, PostgreSQL or the store. The module graph is read from the sources (static imports only; `import
 * type` is erased by the compiler and loads nothing).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const PACKAGES = new URL('../../', import.meta.url).pathname;

/** The source file a `@custody/<pkg>/<entry>` specifier loads, from the package's `exports` (dist -> src). */
function resolveCustody(spec: string): string {
  const [, pkg, ...rest] = spec.split('/');
  const manifest = JSON.parse(readFileSync(join(PACKAGES, pkg!, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };
  const entry = manifest.exports[rest.length === 0 ? '.' : `./${rest.join('/')}`];
  assert.ok(entry, `${spec} is not an export of @custody/${pkg}`);
  return join(PACKAGES, pkg!, entry.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
}

/** Every module a source file loads, transitively: `[file, what it imports it as]`. */
function graph(start: string): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const todo = [start];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    // Static imports and re-exports that load something at run time (`import type` / `export type` do not).
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)) {
      const spec = m[1]!;
      if (spec.startsWith('node:')) continue;
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (spec.startsWith('@custody/')) todo.push(resolveCustody(spec));
      else bare.add(spec);
    }
    for (const m of text.matchAll(/^import\s+'([^']+)'/gm)) bare.add(m[1]!);
  }
  return { files, bare };
}

describe('the verifying thread loads the verifier only', () => {
  it('imports no package barrel, no store, no YAML or PostgreSQL module', () => {
    const { files, bare } = graph(join(PACKAGES, 'app', 'src', 'verify-worker.ts'));
    const rel = [...files].map((f) => f.slice(PACKAGES.length));
    assert.deepEqual([...bare], [], 'no third-party module');
    assert.deepEqual(
      rel.filter((f) => f.startsWith('store/') || f === 'core/src/index.ts' || /^app\/src\/(context|verify)\.ts$/.test(f)),
      [],
      'no store, no core barrel, not the command-side modules',
    );
    assert.ok(rel.includes('core/src/verification/verifier.ts'), 'the walk reaches the verifier');
    // What it loads today is about 80 modules; a barrel would bring a hundred more.
    assert.ok(files.size < 110, `${files.size} modules`);
  });
});
