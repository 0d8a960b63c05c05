// Lint exists mainly to enforce process boundaries (STYLE.md #13): `electron` may only be
// imported from main/app/ (the thin Electron shell) and preload/; everything else must load in
// plain Node. The renderer runs in a sandboxed page: no electron, no Node built-ins at all.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const electronOnlyInShell = {
  'no-restricted-imports': [
    'error',
    {
      paths: [
        {
          name: 'electron',
          message:
            'Only main/app/ may import electron; keep engine and CLI code Electron-free so tests load it in plain Node.',
        },
      ],
      patterns: [{ group: ['electron/*'], message: 'Only main/app/ may import electron.' }],
    },
  ],
};

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
      ...electronOnlyInShell,
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  {
    files: ['main/app/**/*.ts', 'preload/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['renderer/**/*.ts'],
    rules: rendererIsAPage,
  },
);
