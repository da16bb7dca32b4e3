/**
 * The ESM build (npm-style): `import { createEddy } from 'eddy/snippet'`, then
 * `const eddy = createEddy({ key: 'wk_…', api: 'https://eddy.example.com' })`.
 */
export { createEddy, type Eddy, type EddyOptions } from './tracker.ts'
