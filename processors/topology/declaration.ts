import type { Stream } from '../../schemas/avro/catalog.ts'

/** One named operator of a job and what it feeds: other operators, or named outputs. */
export interface OperatorNode {
  readonly name: string
  /** What it does, in the words the drawing uses (docs/ARCHITECTURE.md is drawn from it). */
  readonly does: string
  readonly feeds: readonly string[]
}

/**
 * A job as a topology, the way Flink's DataStream or a Kafka Streams builder reads: the input
 * stream feeds the first operator, each operator feeds operators after it or outputs. Operator
 * names name their state too (see named-state.ts), so adding one cannot shift another's.
 */
export interface Topology {
  readonly input: Stream
  readonly operators: readonly OperatorNode[]
}

/** The output every job binds to the late topic. */
export const LATE_OUTPUT = 'late'

/** Every output the topology's operators feed, in the order they are first named. */
export function topologyOutputs(topology: Topology): string[] {
  const operators = new Set(topology.operators.map((operator) => operator.name))
  const outputs: string[] = []
  for (const operator of topology.operators) {
    for (const feed of operator.feeds) if (!operators.has(feed) && !outputs.includes(feed)) outputs.push(feed)
  }
  return outputs
}

/**
 * Refuses a topology that cannot be what it says: names used twice, an operator that feeds one
 * before it or itself (the graph runs top to bottom), or one nothing feeds.
 */
export function validateTopology(job: string, topology: Topology): Topology {
  if (topology.operators.length === 0) throw new Error(`job "${job}" declares no operators`)
  const seen = new Set<string>()
  const fed = new Set<string>([topology.operators[0]!.name])
  for (const operator of topology.operators) {
    if (seen.has(operator.name)) throw new Error(`job "${job}" declares the operator "${operator.name}" twice`)
    if (operator.name.includes('/')) throw new Error(`job "${job}": an operator name cannot hold "/" (it separates state parts): "${operator.name}"`)
    if (!fed.has(operator.name)) throw new Error(`job "${job}": nothing feeds the operator "${operator.name}"`)
    seen.add(operator.name)
    for (const feed of operator.feeds) {
      if (seen.has(feed)) throw new Error(`job "${job}": "${operator.name}" feeds "${feed}", which comes before it`)
      fed.add(feed)
    }
  }
  return topology
}
