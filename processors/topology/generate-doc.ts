import { readFileSync, writeFileSync } from 'node:fs'
import { defaultJobs } from '../jobs/index.ts'
import { withTopologies } from './doc.ts'

/** npm run docs:topology: redraws each job's topology in docs/ARCHITECTURE.md from its declaration. */
const path = new URL('../../docs/ARCHITECTURE.md', import.meta.url)
const before = readFileSync(path, 'utf8')
const after = withTopologies(before, defaultJobs())
if (after !== before) writeFileSync(path, after)
console.log(after === before ? 'docs/ARCHITECTURE.md: topologies already current' : 'docs/ARCHITECTURE.md: topologies redrawn')
