import type { Job } from '../job.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'
import { renderTopology } from './render.ts'

const begin = (job: string) => `<!-- topology:${job} (generated from the job's declaration: npm run docs:topology) -->`
const end = (job: string) => `<!-- /topology:${job} -->`

/** The document with each job's drawing between its markers replaced by the one its declaration gives. */
export function withTopologies(document: string, jobs: readonly Job<Stream>[]): string {
  let text = document
  for (const job of jobs) {
    const from = text.indexOf(begin(job.name))
    const to = text.indexOf(end(job.name))
    if (from < 0 || to < from) throw new Error(`the document has no markers for the topology of "${job.name}": ${begin(job.name)} … ${end(job.name)}`)
    text = `${text.slice(0, from)}${begin(job.name)}\n${renderTopology(job.name, job.topology)}\n${text.slice(to)}`
  }
  return text
}
