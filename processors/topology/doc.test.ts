import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { defaultJobs } from '../jobs/index.ts'
import { withTopologies } from './doc.ts'
import { renderTopology } from './render.ts'

describe('docs/ARCHITECTURE.md', () => {
  it("draws each job's topology as its declaration says (npm run docs:topology redraws it)", () => {
    const document = readFileSync(new URL('../../docs/ARCHITECTURE.md', import.meta.url), 'utf8')
    expect(withTopologies(document, defaultJobs())).toBe(document)
  })

  it('draws every operator, every output and every edge of a declaration', () => {
    const drawing = renderTopology('j', {
      input: 'log',
      operators: [
        { name: 'a-b', does: 'first', feeds: ['c', 'out_1'] },
        { name: 'c', does: 'second', feeds: ['late'] },
      ],
    })
    expect(drawing.split('\n')).toEqual([
      '```mermaid',
      'flowchart LR',
      '  input_j([log events]) --> op_a_b',
      '  op_a_b["<b>a-b</b><br/>first"]',
      '  op_c["<b>c</b><br/>second"]',
      '  out_out_1[(out_1)]',
      '  out_late[(late)]',
      '  op_a_b --> op_c',
      '  op_a_b --> out_out_1',
      '  op_c --> out_late',
      '```',
    ])
  })
})
