/** Colours for people: on only when the stream is a terminal and `NO_COLOR` is unset or empty. */
export interface Palette {
  readonly enabled: boolean
  bold(text: string): string
  dim(text: string): string
  red(text: string): string
  yellow(text: string): string
  green(text: string): string
  cyan(text: string): string
}

/** True when `stream` is a terminal and the user did not ask for no colour (https://no-color.org). */
export function colorWanted(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const noColor = env['NO_COLOR']
  return stream.isTTY === true && (noColor === undefined || noColor === '')
}

/** A palette that paints with ANSI codes when `enabled`, and returns text unchanged otherwise. */
export function palette(enabled: boolean): Palette {
  const paint = (open: number, close: number) => (text: string): string => (enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text)
  return {
    enabled,
    bold: paint(1, 22),
    dim: paint(2, 22),
    red: paint(31, 39),
    yellow: paint(33, 39),
    green: paint(32, 39),
    cyan: paint(36, 39),
  }
}
