// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Dependency direction (docs/architecture.md): core ← providers, store ← auth ← gateway ← server;
 * core ← policy ← gateway, ops, server; core, store, auth ← ops ← api, cli. A layer may not import a
 * layer that sits above it.
 * Expressed as forbidden import patterns per folder so a violation is a lint error, not a warning.
 */
const layers = {
  core: ['providers', 'store', 'auth', 'policy', 'gateway', 'ops', 'api', 'cli', 'server'],
  providers: ['store', 'auth', 'policy', 'gateway', 'ops', 'api', 'cli', 'server'],
  store: ['providers', 'auth', 'policy', 'gateway', 'ops', 'api', 'cli', 'server'],
  auth: ['providers', 'policy', 'gateway', 'ops', 'api', 'cli', 'server'],
  policy: ['providers', 'store', 'auth', 'gateway', 'ops', 'api', 'cli', 'server'],
  gateway: ['ops', 'api', 'cli', 'server'],
  ops: ['providers', 'gateway', 'api', 'cli', 'server'],
  api: ['store', 'providers', 'policy', 'gateway', 'cli', 'server'],
  cli: ['store', 'providers', 'auth', 'policy', 'gateway', 'api'],
  server: ['cli'],
};
const ioModules = [
  'node:*',
  'fs',
  'http',
  'net',
  'pg',
  'better-sqlite3',
  'kysely',
  'undici',
  'fastify',
  'pino',
];

/**
 * One rule per folder depth, so `../policy` from src/core/guards/ (that is src/core/policy, inside the
 * layer) is not mistaken for the policy layer, and files three folders down are checked too.
 */
const DEPTHS = [1, 2, 3, 4];
const layerRules = Object.entries(layers).flatMap(([layer, forbidden]) =>
  DEPTHS.map((depth) => {
    const up = '../'.repeat(depth);
    return {
      files: [`src/${layer}/${'*/'.repeat(depth - 1)}*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                group: forbidden.flatMap((f) => [`${up}${f}/*`, `${up}${f}`]),
                message: `src/${layer} may not import ${forbidden.join(', ')} (dependency direction, docs/architecture.md).`,
              },
              ...(layer === 'core'
                ? [{ group: ioModules, message: 'src/core is pure: no I/O modules or drivers.' }]
                : []),
            ],
          },
        ],
      },
    };
  }),
);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.firebreak/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // `const { dropped: _dropped, ...rest } = x` is how we omit fields.
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_' }],
    },
  },
  {
    // Plain JavaScript (bin, bench, the PostgreSQL child): linted without type information, so it needs
    // no tsconfig entry (the project service's default project is capped at 8 files).
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { console: 'readonly', process: 'readonly', URL: 'readonly' },
    },
  },
  {
    // The request path: on Node 20 (V8 11.3) an object literal that opens with a spread and goes on
    // with more properties gets a new hidden class for nearly every object it makes (memory per object,
    // megamorphic reads downstream). Use withFields (src/core/with-fields.ts) or list the properties first.
    files: [
      'src/gateway/**/*.ts',
      'src/providers/**/*.ts',
      'src/core/guards/**/*.ts',
      'src/core/wire/**/*.ts',
      'src/core/call-plan.ts',
      'src/core/chat.ts',
    ],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ObjectExpression[properties.0.type="SpreadElement"] > Property',
          message:
            'No `{ ...x, key: v }` on the request path: a new hidden class per object on Node 20. Use withFields(x, { key: v }).',
        },
      ],
    },
  },
  ...layerRules,
);
