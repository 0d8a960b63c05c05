// Lint exists mainly to enforce process boundaries (STYLE.md #13): `electron` may only be
// imported from main/app/ (the thin Electron shell); everything else must load in plain Node.
import tseslint from 'typescript-eslint';

const electronOnlyInShell = {
  'no-restricted-imports': [
    'error',
    {
      paths: [
        { name: 'electron', message: 'Only main/app/ may import electron; keep engine and CLI code Electron-free so tests load it in plain Node.' },
      ],
      patterns: [{ group: ['electron/*'], message: 'Only main/app/ may import electron.' }],
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
    files: ['main/app/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
