// ESLint (flat config) for lib/ (TypeScript, type-aware) and the JS/MJS
// sources (tests, benchmarks, scripts): npm run lint.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'build-static/**', 'prebuilds/**', 'node_modules/**'] },
  js.configs.recommended,
  {
    files: ['lib/**/*.ts', 'lib/**/*.mts'],
    extends: [...tseslint.configs.recommended],
    languageOptions: { parserOptions: { project: './tsconfig.json' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node }, sourceType: 'module' },
    rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }] },
  },
  {
    files: ['**/*.cjs', 'scripts/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
  },
  {
    files: ['test/**', 'test-gpu/**'],
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
  },
);
