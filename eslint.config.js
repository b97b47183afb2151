// Lint rules, including the layer boundaries from the architecture:
// planner/, drift/ and cost/ are pure (no I/O), aws/ knows no Kubernetes, runtime/ knows no AWS or CRDs,
// outcome/ is pure and may be used by every layer, and controllers/ is the only layer that talks to both sides.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const io = [
  '@aws-sdk/*',
  '@kubernetes/*',
  'node:fs',
  'node:fs/*',
  'node:net',
  'node:http',
  'node:https',
  'node:child_process',
  'pino',
  'prom-client',
];
const restrict = (message, groups) => ({
  'no-restricted-imports': ['error', { patterns: groups.map((group) => ({ group: [group].flat(), message })) }],
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.slipway/', 'charts/**/templates/**'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/planner/**'],
    rules: restrict('planner/ is pure: no I/O, no SDKs, no runtime, no AWS facades.', [
      io,
      '**/aws/**',
      '**/runtime/**',
      '**/reconcilers/**',
      '**/controllers/**',
    ]),
  },
  {
    files: ['src/cost/**'],
    rules: restrict('cost/ is pure: it estimates from the spec, the status and the price table; no I/O, no SDKs.', [
      io,
      '**/aws/**',
      '**/runtime/**',
      '**/reconcilers/**',
      '**/controllers/**',
    ]),
  },
  {
    // drift/ summarises the applier's report, so it may import the report's *types*, and nothing that runs.
    files: ['src/drift/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...io, '**/aws/**', '**/runtime/**', '**/controllers/**'],
              message: 'drift/ is pure: no I/O, no SDKs, no runtime.',
            },
            {
              group: ['**/reconcilers/**'],
              allowTypeImports: true,
              message: 'drift/ may use the applier report types only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/lib/**'],
    rules: restrict('lib/ holds pure helpers every layer may use: it imports none of them and does no I/O.', [
      io,
      '@aws-sdk/*',
      '@kubernetes/*',
      '**/aws/**',
      '**/runtime/**',
      '**/api/**',
      '**/planner/**',
      '**/reconcilers/**',
      '**/controllers/**',
      '**/drift/**',
      '**/outcome/**',
    ]),
  },
  {
    files: ['src/aws/**'],
    rules: restrict('aws/ is a thin SDK layer: it knows nothing of Kubernetes, the runtime or controllers.', [
      '@kubernetes/*',
      '**/runtime/**',
      '**/controllers/**',
      '**/planner/**',
      '**/drift/**',
    ]),
  },
  {
    files: ['src/reconcilers/**'],
    rules: restrict('reconcilers/ talk to AWS only: no Kubernetes, no runtime, no controllers.', [
      '@kubernetes/*',
      '**/runtime/**',
      '**/controllers/**',
    ]),
  },
  {
    files: ['src/runtime/**'],
    rules: restrict('runtime/ is a generic controller runtime: it knows no AWS and none of our CRDs.', [
      '@aws-sdk/*',
      '**/aws/**',
      '**/api/**',
      '**/planner/**',
      '**/reconcilers/**',
      '**/controllers/**',
      '**/drift/**',
    ]),
  },
  {
    // outcome/ is what every layer uses to say why something failed; it reads AWS error shapes to classify them
    // (aws/errors.ts) and must not reach the runtime, the controllers or a reconciler.
    files: ['src/outcome/**'],
    rules: restrict('outcome/ is pure: it may classify AWS errors (aws/errors.ts) and nothing more.', [
      io,
      '**/runtime/**',
      '**/controllers/**',
      '**/reconcilers/**',
      '**/planner/**',
      '**/drift/**',
    ]),
  },
  {
    files: ['src/api/**'],
    rules: restrict('api/ holds CRD types only.', [io, '**/aws/**', '**/runtime/**', '**/controllers/**']),
  },
);
