// ESLint flat config. Type-aware rules stay off on purpose: they would triple the lint time on 2 vCPUs, and
// tsc --build (strict, noUnused*) already runs in every build. What lint adds is the floor plan: imports point
// down (cli -> app -> store -> core), and core stays pure.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NODE_IO = ['fs', 'fs/promises', 'net', 'http', 'https', 'child_process', 'worker_threads', 'os', 'readline', 'dgram', 'tls', 'process'].flatMap((m) => [
  m,
  `node:${m}`,
]);

/** A package may import only the packages below it. */
function floor(files, forbidden, extra = []) {
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...forbidden.map((p) => ({ group: [p, `${p}/*`], message: 'imports point down: cli -> app -> store -> core' })),
            { group: ['../../*/src/*', '../../../*/src/*', '**/dist/*'], message: 'import a package by its name and named entry point, not by path' },
          ],
          paths: extra,
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'demo-out/**', 'bench/out/**', '**/*.d.ts', 'packages/cli/oclif.manifest.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
        crypto: 'readonly',
        AbortController: 'readonly',
        queueMicrotask: 'readonly',
        SharedArrayBuffer: 'readonly',
        Atomics: 'readonly',
        globalThis: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      // custody refuses control characters in signed text on purpose; the regexes that find them are not mistakes.
      'no-control-regex': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  floor(
    ['packages/core/src/**/*.ts'],
    ['@custody/store', '@custody/app', '@custody/cli'],
    NODE_IO.map((name) => ({ name, message: 'core is pure: no files, sockets, threads or env (STYLE.md)' })),
  ),
  {
    files: ['packages/core/src/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', { name: 'process', message: 'core is pure: no env, no clock (STYLE.md)' }],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'core has no clock: take `now: Date` as a parameter' },
        { selector: "MemberExpression[object.name='Date'][property.name='now']", message: 'core has no clock: take `now: Date` as a parameter' },
      ],
    },
  },
  floor(['packages/store/src/**/*.ts'], ['@custody/app', '@custody/cli']),
  floor(['packages/app/src/**/*.ts'], ['@custody/cli']),
  floor(['packages/cli/src/**/*.ts'], []),
  {
    files: ['**/test/**/*.ts', 'test/**/*.ts', 'bench/**/*.mjs', 'scripts/**/*.{js,mjs}'],
    languageOptions: {
      globals: { describe: 'readonly', it: 'readonly', before: 'readonly', after: 'readonly', beforeEach: 'readonly', afterEach: 'readonly' },
    },
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
);
