import type { SearchNode } from './ast.ts'

/**
 * The text tokens a hit is shown with: those of words and phrases that must occur, not those under
 * a NOT (a line matched because it lacks them; NOT NOT is positive again). Case-folded, each once,
 * in query order.
 */
export function highlightTokens(node: SearchNode): string[] {
  const tokens = new Set<string>()
  const visit = (current: SearchNode, negated: boolean): void => {
    if (current.kind === 'and' || current.kind === 'or') for (const child of current.children) visit(child, negated)
    else if (current.kind === 'not') visit(current.child, !negated)
    else if (negated) return
    else if (current.kind === 'text-term') tokens.add(current.token)
    else if (current.kind === 'text-phrase') for (const token of current.tokens) tokens.add(token)
  }
  visit(node, false)
  return [...tokens]
}
