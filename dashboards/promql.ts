/**
 * The metric names a PromQL expression (or a Grafana `label_values(metric, label)` variable query)
 * selects. Not a parser: strings, label matchers, ranges and grouping clauses are blanked out, and
 * what remains that is an identifier, not called like a function and not a keyword, is a metric.
 */
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'atan2', 'inf', 'nan'])

export function metricNames(expression: string): string[] {
  const labelValues = /^\s*label_values\(\s*([a-zA-Z_:][\w:]*)?\s*(\{[^}]*\})?\s*,/.exec(expression)
  if (labelValues) return labelValues[1] ? [labelValues[1]] : []
  const blanked = expression
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\boffset\s+-?[\w$]+/gi, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ')
    .replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, ' ')
  const names = new Set<string>()
  for (const match of blanked.matchAll(/[a-zA-Z_:][\w:]*/g)) {
    const after = blanked.slice(match.index + match[0].length)
    if (/^\s*\(/.test(after) || KEYWORDS.has(match[0].toLowerCase())) continue
    names.add(match[0])
  }
  return [...names]
}
