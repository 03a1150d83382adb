// ESLint flat config: `npm run lint`. typescript-eslint's `recommended` set (syntax only, not type-checked, so it
// stays fast) over the project's own code: src/, test/, bench/, scripts/.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig(
  {
    ignores: [
      "dist/**",
      "**/node_modules/**",
      "test-artifacts/**",
      "example-site/build/**",
      // What a Docusaurus build or a test leaves behind (also under test/fixtures/ sites).
      "**/.docusaurus/**",
      "**/.docusaurus-*/**",
      "**/build/**",
      "**/.panaversity/**",
      "**/.panaversity-cache/**",
      "coverage/**",
      "scratch/**",
    ],
  },
  {
    files: ["src/**/*.{ts,mts,js,mjs}", "test/**/*.{ts,mts,js,mjs}", "bench/**/*.{ts,mjs}", "scripts/**/*.{ts,mjs}"],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: "module",
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // The code marks deliberate discards with a leading underscore (`for await (const _chunk of …)` to drain a
      // stream, `{ size: _size, ...rest }` to drop a field); everything else unused is still an error.
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // Tests poke at JSON bodies, parsed YAML and loosely shaped results; typing each of them adds noise, not safety.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // Fixture sites stand in for users' CommonJS Docusaurus sites (docusaurus.config.js, local plugins): `require` is
    // what they are testing.
    files: ["test/fixtures/**/*.js"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
