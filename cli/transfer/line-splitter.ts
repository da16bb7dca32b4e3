/** One line of an input file: its text, or how long it was when it was over the cap. */
export type InputLine =
  | { readonly line: number; readonly text: string; readonly bytes: number }
  | { readonly line: number; readonly tooLongBytes: number }

const NEWLINE = 0x0a

/**
 * Splits bytes into lines without ever holding more than `maxLineBytes` of one line: readline
 * keeps a line whole however long it is, so a 40 MB line (or a file without newlines) would sit
 * in memory. A line over the cap is skipped to its newline and reported by number and length.
 * Line numbers are 1-based; a trailing `\r` (CRLF files) is dropped; blank lines are skipped but
 * counted, so numbers match an editor's.
 */
export class LineSplitter {
  private parts: Buffer[] = []
  private held = 0
  /** Bytes of the current line seen so far, including those dropped once it went over the cap. */
  private seen = 0
  private line = 0

  constructor(private readonly maxLineBytes: number) {}

  /** The last line number that was complete (ended by a newline). */
  get completeLines(): number {
    return this.line
  }

  push(chunk: Buffer): InputLine[] {
    const lines: InputLine[] = []
    let start = 0
    for (let newline = chunk.indexOf(NEWLINE, start); newline !== -1; newline = chunk.indexOf(NEWLINE, start)) {
      this.take(chunk.subarray(start, newline))
      const line = this.finish()
      if (line) lines.push(line)
      start = newline + 1
    }
    if (start < chunk.length) this.take(chunk.subarray(start))
    return lines
  }

  /** The last line when the input ended without a newline; undefined when there is none. */
  end(): InputLine | undefined {
    return this.seen > 0 ? this.finish() : undefined
  }

  /** Drops what is held of an unfinished line (the input broke off inside it). */
  discardPartial(): void {
    this.parts = []
    this.held = 0
    this.seen = 0
  }

  private take(bytes: Buffer): void {
    this.seen += bytes.length
    if (this.held + bytes.length <= this.maxLineBytes) {
      // Copied: the chunk may be a view into a buffer that the stream reuses.
      this.parts.push(Buffer.from(bytes))
      this.held += bytes.length
    } else {
      this.parts = []
      this.held = this.maxLineBytes + 1
    }
  }

  private finish(): InputLine | undefined {
    this.line += 1
    const bytes = this.seen
    const over = this.held > this.maxLineBytes
    const parts = this.parts
    this.parts = []
    this.held = 0
    this.seen = 0
    if (over) return { line: this.line, tooLongBytes: bytes }
    let text = parts.length === 1 ? parts[0]!.toString('utf8') : Buffer.concat(parts).toString('utf8')
    if (text.endsWith('\r')) text = text.slice(0, -1)
    if (text.trim() === '') return undefined
    return { line: this.line, text, bytes }
  }
}
