// Lint enforces the boundaries that review cannot keep (STYLE.md #13):
// - `electron` only in main/app/ (the thin Electron shell) and preload/; everything else must
//   load in plain Node. The renderer is a sandboxed page: no electron, no Node built-ins.
// - Imports run one way: core <- ssh <- transport <- engine <- control <- cli, app-core <- ipc <- app.
//   A layer never imports from a layer to its right.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const electronPaths = [
  {
    name: 'electron',
    message:
      'Only main/app/ may import electron; keep engine and CLI code Electron-free so tests load it in plain Node.',
  },
];
const electronPatterns = [{ group: ['electron/*'], message: 'Only main/app/ may import electron.' }];

/** The layers under main/, innermost first, and what each may not import. */
const LAYERS = {
  core: ['ssh', 'transport', 'engine', 'control', 'cli', 'app-core', 'ipc', 'app', 'build'],
  ssh: ['transport', 'engine', 'control', 'cli', 'app-core', 'ipc', 'app', 'build'],
  transport: ['engine', 'control', 'cli', 'app-core', 'ipc', 'app', 'build'],
  engine: ['control', 'cli', 'app-core', 'ipc', 'app', 'build'],
  // The control socket (status, pause, why) sits beside cli and app-core, which both use it.
  control: ['cli', 'app-core', 'ipc', 'app', 'build'],
  cli: ['app-core', 'ipc', 'app', 'build'],
  'app-core': ['cli', 'app', 'build', 'ipc/handlers.ts'],
  ipc: ['cli', 'app', 'build'],
};

function layerRule(layer, forbidden, { allowElectron = false } = {}) {
  return {
    'no-restricted-imports': [
      'error',
      {
        paths: allowElectron ? [] : electronPaths,
        patterns: [
          ...(allowElectron ? [] : electronPatterns),
          ...forbidden.map((target) => ({
            group: [`../${target}`, `../${target}/**`],
            message: `main/${layer}/ may not import from main/${target}: imports run core <- ssh <- transport <- engine <- control <- cli, app-core <- ipc <- app.`,
          })),
        ],
      },
    ],
  };
}

const rendererIsAPage = {
  'no-restricted-imports': [
    'error',
    {
      paths: [
        { name: 'electron', message: 'The renderer talks to main only through window.ferry (main/ipc/contract.ts).' },
        ...builtinModules.map((name) => ({
          name,
          message: 'The renderer is a sandboxed web page: no Node built-ins.',
        })),
      ],
      patterns: [
        { group: ['electron/*'], message: 'The renderer talks to main only through window.ferry.' },
        { group: ['node:*'], message: 'The renderer is a sandboxed web page: no Node built-ins.' },
      ],
    },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'test-output/**', 'renderer/dist/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      'no-restricted-imports': ['error', { paths: electronPaths, patterns: electronPatterns }],
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  ...Object.entries(LAYERS).map(([layer, forbidden]) => ({
    files: [`main/${layer}/**/*.ts`],
    rules: layerRule(layer, forbidden),
  })),
  {
    files: ['main/app/**/*.ts'],
    rules: layerRule('app', ['cli'], { allowElectron: true }),
  },
  {
    files: ['preload/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['renderer/**/*.ts'],
    rules: rendererIsAPage,
  },
);
