#!/usr/bin/env -S node --max-semi-space-size=32
// Eddy runs its TypeScript sources through tsx's loader: one code path for development,
// `npm start` and the container image, with no build step to forget.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../cli/main.ts')
process.exitCode = await main(process.argv.slice(2), process.env)
