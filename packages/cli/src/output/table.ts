/** A column of a {@link renderTable}: its heading and whether numbers align right. */
export interface Column {
  readonly heading: string
  readonly align?: 'left' | 'right'
  /** Longest a cell may be before it is cut with an ellipsis. Default unlimited. */
  readonly max?: number
}

// ANSI colour codes take no room on the screen.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g

function visibleLength(text: string): number {
  return text.replace(ANSI, '').length
}

function cut(text: string, max: number | undefined): string {
  const flat = text.replace(/\s+/g, ' ')
  if (max === undefined || flat.length <= max) return flat
  return `${flat.slice(0, Math.max(0, max - 1))}…`
}

/**
 * Lays out rows as a plain-text table: a heading line, then one line per row, columns separated by
 * two spaces, no trailing spaces. Cells may hold colour codes; widths count only visible characters.
 */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((row) => row.map((cell, index) => (visibleLength(cell) === cell.length ? cut(cell, columns[index]?.max) : cell)))
  const widths = columns.map((column, index) => Math.max(column.heading.length, ...cells.map((row) => visibleLength(row[index] ?? ''))))
  const line = (row: readonly string[]): string =>
    row
      .map((cell, index) => {
        const pad = ' '.repeat(Math.max(0, widths[index]! - visibleLength(cell)))
        return columns[index]?.align === 'right' ? pad + cell : cell + pad
      })
      .join('  ')
      .trimEnd()
  return [line(columns.map((column) => column.heading)), ...cells.map(line)].join('\n')
}

/** Lays out `label: value` pairs with the values lined up. */
export function renderFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...fields.map(([label]) => label.length))
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width + 1)} ${value}`.trimEnd()).join('\n')
}
