import { ProblemError } from '../../core/http/problem.ts'

/** The field the first error of a thrown ProblemError names; undefined if nothing was thrown. */
export function problemField(action: () => unknown): string | undefined {
  try {
    action()
  } catch (error) {
    if (error instanceof ProblemError) return error.errors?.[0]?.field
    throw error
  }
  return undefined
}
