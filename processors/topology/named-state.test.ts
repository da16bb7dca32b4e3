import { describe, expect, it } from 'vitest'
import { joinSnapshots } from '../state/snapshot-parts.ts'
import { validateTopology, topologyOutputs, type Topology } from './declaration.ts'
import { namedState } from './named-state.ts'
import { CounterPart } from './parts.ts'

const topology: Topology = {
  input: 'log',
  operators: [
    { name: 'first', does: 'one', feeds: ['second', 'out_a'] },
    { name: 'second', does: 'two', feeds: ['out_b', 'late'] },
  ],
}

function task(withThird = false) {
  const parts: Record<string, CounterPart> = { first: new CounterPart('firsts'), second: new CounterPart('seconds') }
  if (withThird) parts['second/extra'] = new CounterPart('extras')
  return { parts, state: namedState('test', topology, parts, { clock: 'first', positionalOrder: ['first', 'second'] }) }
}

describe('named task state', () => {
  it('restores each part by its name, whatever order or parts the new code has', () => {
    const before = task()
    before.parts.first!.value = 3
    before.parts.second!.value = 5
    // A part added since (an operator's new counter) starts empty instead of taking another's bytes.
    const after = task(true)
    expect(after.state.restore(before.state.snapshot())).toEqual({ ok: true })
    expect(after.state.stats()).toEqual({ firsts: 3, seconds: 5, extras: 0 })
  })

  it('restores a positional snapshot in the order parts were written before they had names', () => {
    const restored = task()
    const positional = joinSnapshots([new CounterPart('x').snapshot(), (() => { const c = new CounterPart('y'); c.value = 7; return c.snapshot() })()])
    expect(restored.state.restore(positional)).toEqual({ ok: true })
    expect(restored.state.stats()).toEqual({ firsts: 0, seconds: 7 })
  })

  it('refuses a snapshot with state the job no longer has, and truncated bytes, with a reason', () => {
    const richer = task(true)
    expect(task().state.restore(richer.state.snapshot())).toEqual({ ok: false, reason: 'the snapshot holds state "second/extra", which job "test" no longer has' })
    const bytes = task().state.snapshot()
    expect(task().state.restore(bytes.subarray(0, bytes.length - 3)).ok).toBe(false)
    expect(task().state.restore(Uint8Array.from([...bytes, 0])).ok).toBe(false)
  })

  it('refuses state for an operator the topology does not declare', () => {
    expect(() => namedState('test', topology, { third: new CounterPart('t') }, { clock: 'third', positionalOrder: [] })).toThrow('operator it does not declare')
  })
})

describe('topology declaration', () => {
  it('lists the outputs its operators feed', () => {
    expect(topologyOutputs(topology)).toEqual(['out_a', 'out_b', 'late'])
  })

  it('refuses an operator nothing feeds, one fed from below, and a name used twice', () => {
    expect(() => validateTopology('j', { input: 'log', operators: [{ name: 'a', does: '', feeds: [] }, { name: 'b', does: '', feeds: [] }] })).toThrow('nothing feeds the operator "b"')
    expect(() => validateTopology('j', { input: 'log', operators: [{ name: 'a', does: '', feeds: ['b'] }, { name: 'b', does: '', feeds: ['a'] }] })).toThrow('comes before it')
    expect(() => validateTopology('j', { input: 'log', operators: [{ name: 'a', does: '', feeds: ['a'] }] })).toThrow('comes before it')
  })
})
