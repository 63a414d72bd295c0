import type { Column } from './board-snapshot.js'
import { html, type SafeHtml } from './html.js'

/** What every page's header shows about the board and the server. */
export interface PageContext {
  /** The board's location (file path, or server, database and schema; never a password). */
  readonly location: string
  readonly engine: string
  readonly allowActions: boolean
}

/** A whole page around `content`: the header (board, live state, token field when actions are on), then the content. */
export function page(context: PageContext, title: string, content: SafeHtml, options: { readonly live?: boolean } = {}): SafeHtml {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · kanban-db</title><link rel="stylesheet" href="/app.css"><script src="/app.js" defer></script></head>
<body><header><h1><a href="/" class="home">kanban-db</a></h1><span class="location">${context.location}</span><span class="badge">${context.engine}</span>${
    context.allowActions
      ? html`<label>token <input id="token" type="password" autocomplete="off" spellcheck="false" placeholder="printed at start"></label>`
      : html`<span class="badge">read-only</span>`
  }<output id="action-result" class="result"></output>${options.live ? html`<span id="live" class="badge live off">connecting…</span>` : ''}</header>
${content}</body></html>
`
}

/** The board page: throughput and health on top, then one column per status. */
export function boardPage(context: PageContext, parts: { readonly columns: SafeHtml; readonly throughput: SafeHtml; readonly health: SafeHtml }): SafeHtml {
  return page(
    context,
    context.location,
    html`<main><div class="top"><section class="panel"><h2>Throughput</h2><div id="throughput-chart">${parts.throughput}</div></section>${parts.health}</div>
<div id="columns" class="columns">${parts.columns}</div></main><aside id="detail" hidden></aside>`,
    { live: true },
  )
}

/** The columns: each status with its count and its newest cards. */
export function columnsHtml(columns: readonly Column[]): SafeHtml {
  return html`${columns.map(
    (column) => html`<section class="column" data-status="${column.status}"><h2>${column.status} <span class="count">${column.count}</span></h2><ol>${column.cards.map(
      (card) => html`<li class="card" data-task="${card.id}"><a href="/tasks/${encodeURIComponent(card.id)}">${card.title}</a><div class="meta">${[
        card.priority !== 0 ? `p${card.priority}` : '',
        card.assignee ? `@${card.assignee}` : '',
        card.attempts > 0 ? `${card.attempts} attempt${card.attempts > 1 ? 's' : ''}` : '',
      ]
        .filter(Boolean)
        .join(' · ')}</div>${card.note ? html`<div class="note">${card.note.length > 140 ? `${card.note.slice(0, 140)}…` : card.note}</div>` : ''}</li>`,
    )}</ol>${column.count > column.cards.length ? html`<p class="more">+${column.count - column.cards.length} more</p>` : ''}</section>`,
  )}`
}
