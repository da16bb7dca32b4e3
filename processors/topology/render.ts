import { topologyOutputs, type Topology } from './declaration.ts'

/** Mermaid ids are words; operator and output names may hold '-' or '_'. */
const id = (kind: 'op' | 'out', name: string) => `${kind}_${name.replace(/[^A-Za-z0-9]/g, '_')}`

/**
 * The topology as a Mermaid flowchart: what docs/ARCHITECTURE.md shows for each job, generated
 * so the drawing cannot drift from the declaration (a test compares them).
 */
export function renderTopology(job: string, topology: Topology): string {
  const operators = new Set(topology.operators.map((operator) => operator.name))
  const lines = ['```mermaid', 'flowchart LR']
  lines.push(`  input_${job.replace(/[^A-Za-z0-9]/g, '_')}([${topology.input} events]) --> ${id('op', topology.operators[0]!.name)}`)
  for (const operator of topology.operators) lines.push(`  ${id('op', operator.name)}["<b>${operator.name}</b><br/>${operator.does}"]`)
  for (const output of topologyOutputs(topology)) lines.push(`  ${id('out', output)}[(${output})]`)
  for (const operator of topology.operators) {
    for (const feed of operator.feeds) lines.push(`  ${id('op', operator.name)} --> ${id(operators.has(feed) ? 'op' : 'out', feed)}`)
  }
  lines.push('```')
  return lines.join('\n')
}
