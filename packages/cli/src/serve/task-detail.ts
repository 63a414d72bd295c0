import type { Attachment, Board, BoardEvent, Task, TaskComment, TaskRun } from '@kanban-db/core'
import { html, type SafeHtml } from './html.js'

/** Most events the detail lists (the oldest first). */
export const DETAIL_EVENTS = 500

/** Everything the detail shows about one task. */
export interface TaskDetail {
  readonly task: Task
  readonly runs: readonly TaskRun[]
  readonly events: readonly BoardEvent[]
  readonly comments: readonly TaskComment[]
  readonly attachments: readonly Attachment[]
}

/** Reads a task's detail, or undefined when no task has that id. */
export async function readTaskDetail(board: Board, taskId: string): Promise<TaskDetail | undefined> {
  const task = await board.getTask(taskId)
  if (!task) return undefined
  const [runs, events, comments, attachments] = await Promise.all([
    board.runs(taskId),
    board.events({ taskId, limit: DETAIL_EVENTS }),
    board.comments(taskId),
    board.attachments(taskId),
  ])
  return { task, runs, events, comments, attachments }
}

const time = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19))
const json = (value: unknown) => JSON.stringify(value, null, 2)

/** The detail as an HTML fragment: facts, actions (when allowed), runs, events, comments, attachments. */
export function taskDetailHtml(detail: TaskDetail, allowActions: boolean): SafeHtml {
  const { task } = detail
  const facts: Array<[string, string | number | null]> = [
    ['id', task.id],
    ['status', task.status],
    ['priority', task.priority],
    ['assignee', task.assignee ?? 'any'],
    ['attempts', `${task.attempts} of ${task.maxAttempts}`],
    ['tenant', task.tenant],
    ['created', `${time(task.createdAt)}${task.createdBy ? ` by ${task.createdBy}` : ''}`],
    ['updated', time(task.updatedAt)],
    ['claimed by', task.claimedBy ? `${task.claimedBy} (pid ${task.workerPid} on ${task.workerHost}) until ${time(task.claimExpiresAt)}` : null],
    ['blocked', task.blockReason ? `${task.blockReason}${task.blockKind ? ` (${task.blockKind})` : ''}` : null],
    ['last error', task.lastError],
    ['due', time(task.dueAt) || null],
  ]
  return html`<article class="task" data-task="${task.id}"><a href="/" class="close" title="close">✕</a><h2>${task.title}</h2>
<table>${facts.filter(([, value]) => value !== null && value !== '').map(([name, value]) => html`<tr><th>${name}</th><td>${value}</td></tr>`)}</table>
${allowActions ? actionsHtml(task) : ''}
${task.body ? html`<h3>Body</h3><pre>${task.body}</pre>` : ''}
${task.result !== null ? html`<h3>Result</h3><pre>${json(task.result)}</pre>` : ''}
${Object.keys(task.meta).length ? html`<h3>Meta</h3><pre>${json(task.meta)}</pre>` : ''}
<h3>Runs (${detail.runs.length})</h3>${
    detail.runs.length
      ? html`<table><tr><th>#</th><th>worker</th><th>started</th><th>ended</th><th>outcome</th><th>note</th></tr>${detail.runs.map(
          (run) => html`<tr><td>${run.attempt}${run.role === 'review' ? ' (review)' : ''}</td><td>${run.workerId} · pid ${run.pid} · ${run.host}</td><td>${time(run.startedAt)}</td><td>${time(run.endedAt)}</td><td>${run.outcome ?? 'running'}</td><td>${run.error ?? run.summary ?? ''}</td></tr>`,
        )}</table>`
      : html`<p class="muted">none</p>`
  }
<h3>Events (${detail.events.length})</h3><table><tr><th>time</th><th>event</th><th>status</th><th>payload</th></tr>${detail.events.map(
    (event) => html`<tr><td>${time(event.createdAt)}</td><td>${event.kind}</td><td>${event.fromStatus ?? ''}${event.toStatus ? ` → ${event.toStatus}` : ''}</td><td>${event.payload === null ? '' : JSON.stringify(event.payload)}</td></tr>`,
  )}</table>
<h3>Comments (${detail.comments.length})</h3>${
    detail.comments.length
      ? detail.comments.map((comment) => html`<div class="comment"><div class="muted">${comment.author ?? 'anonymous'} · ${time(comment.createdAt)}</div><pre>${comment.body}</pre></div>`)
      : html`<p class="muted">none</p>`
  }
${
  detail.attachments.length
    ? html`<h3>Attachments (${detail.attachments.length})</h3><table>${detail.attachments.map(
        (a) => html`<tr><td>${a.name}</td><td>${a.uri}</td><td>${a.mediaType ?? ''}</td><td>${a.sizeBytes ?? ''}</td></tr>`,
      )}</table>`
    : ''
}</article>`
}

/** The action forms a task allows now: each posts with the token (a header from the script, or the form's field). */
function actionsHtml(task: Task): SafeHtml {
  const path = `/tasks/${encodeURIComponent(task.id)}`
  const tokenField = html`<input class="token-field" type="password" name="token" placeholder="token" autocomplete="off">`
  const forms: SafeHtml[] = []
  if (task.status === 'blocked') {
    forms.push(html`<form class="act" method="post" action="${path}/unblock">${tokenField}<button type="submit" name="do" value="unblock">Unblock</button></form>`)
  }
  if (task.status !== 'running' && task.status !== 'archived') {
    forms.push(html`<form class="act" method="post" action="${path}/reassign"><input name="assignee" placeholder="assignee (empty: any)" value="${task.assignee ?? ''}">${tokenField}<button type="submit">Reassign</button></form>`)
  }
  if (task.status !== 'archived') {
    forms.push(html`<form class="act" method="post" action="${path}/archive">${tokenField}<button type="submit">Archive</button></form>`)
  }
  return forms.length ? html`<div class="actions">${forms}</div>` : html``
}
