/**
 * The live board's browser script, served as /app.js (the page allows no inline script). It keeps
 * the columns, chart and health panel current from the server-sent events at /events (the server
 * renders and escapes every fragment; the script only places them), opens a task's detail beside
 * the board, and sends actions with the token the person typed (kept in this tab's sessionStorage,
 * or taken from a start URL ending in #token=...; a URL fragment never reaches the server).
 */
export const CLIENT_SCRIPT = `(function () {
  'use strict';
  var KEY = 'kanban-db-token';
  document.body.classList.add('js');
  var found = /^#token=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (found) {
    sessionStorage.setItem(KEY, found[1]);
    history.replaceState(null, '', location.pathname + location.search);
  }
  var tokenInput = document.getElementById('token');
  if (tokenInput) {
    tokenInput.value = sessionStorage.getItem(KEY) || '';
    tokenInput.addEventListener('input', function () { sessionStorage.setItem(KEY, tokenInput.value.trim()); });
  }
  function token() { return tokenInput ? tokenInput.value.trim() : (sessionStorage.getItem(KEY) || ''); }

  var live = document.getElementById('live');
  var columns = document.getElementById('columns');
  var chart = document.getElementById('throughput-chart');
  var detail = document.getElementById('detail');
  var openTask = null;
  var changed = {};

  function setLive(on, text) {
    if (!live) return;
    live.textContent = text;
    live.className = 'badge live ' + (on ? 'on' : 'off');
  }

  function markChanged() {
    var cards = document.querySelectorAll('.card');
    for (var i = 0; i < cards.length; i++) {
      if (changed[cards[i].getAttribute('data-task')]) cards[i].classList.add('changed');
    }
    changed = {};
    setTimeout(function () {
      var marked = document.querySelectorAll('.card.changed');
      for (var j = 0; j < marked.length; j++) marked[j].classList.remove('changed');
    }, 2500);
  }

  function loadDetail(id) {
    openTask = id;
    fetch('/tasks/' + encodeURIComponent(id) + '?fragment=1', { headers: { Accept: 'text/html' } })
      .then(function (r) { return r.text(); })
      .then(function (text) {
        if (openTask !== id) return;
        detail.innerHTML = text;
        detail.hidden = false;
      });
  }

  function closeDetail() {
    openTask = null;
    if (detail) { detail.hidden = true; detail.innerHTML = ''; }
  }

  if (columns && window.EventSource) {
    var source = new EventSource('/events');
    source.onopen = function () { setLive(true, 'live'); };
    source.onerror = function () { setLive(false, 'reconnecting…'); };
    source.addEventListener('board', function (e) {
      var data = JSON.parse(e.data);
      columns.innerHTML = data.columns;
      chart.innerHTML = data.throughput;
      document.body.setAttribute('data-position', String(data.position));
      setLive(true, 'live');
      markChanged();
    });
    source.addEventListener('problem', function (e) {
      setLive(false, 'board unreachable: ' + JSON.parse(e.data).message);
    });
    source.addEventListener('events', function (e) {
      var events = JSON.parse(e.data);
      var touchesOpen = false;
      for (var i = 0; i < events.length; i++) {
        changed[events[i].taskId] = true;
        if (events[i].taskId === openTask) touchesOpen = true;
      }
      if (touchesOpen) loadDetail(openTask);
    });
    source.addEventListener('health', function (e) {
      var panel = document.getElementById('health');
      if (panel) panel.outerHTML = JSON.parse(e.data).html;
    });
  }

  document.addEventListener('click', function (e) {
    var target = e.target;
    if (!(target instanceof Element)) return;
    if (detail && target.closest('#detail .close')) { e.preventDefault(); closeDetail(); return; }
    var link = target.closest('.card a');
    if (link && detail && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
      e.preventDefault();
      loadDetail(link.closest('.card').getAttribute('data-task'));
    }
  });
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape') closeDetail(); });

  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains('act')) return;
    e.preventDefault();
    var data = new URLSearchParams(new FormData(form));
    var given = token() || data.get('token') || '';
    data.delete('token');
    var out = document.getElementById('action-result');
    function show(kind, text) { if (out) { out.className = 'result ' + kind; out.textContent = text; } }
    var request;
    try {
      request = fetch(form.action, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', 'X-Kanban-Token': given },
        body: data.toString(),
      });
    } catch (error) {
      show('refused', 'refused: ' + error.message);
      return;
    }
    request
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; }); })
      .then(function (r) {
        if (!r.ok) { show('refused', 'refused (' + r.status + '): ' + r.body.error); return; }
        show('accepted', 'done: the task is ' + r.body.task.status);
        if (openTask) loadDetail(openTask); else location.reload();
      })
      .catch(function (error) { show('refused', 'failed: ' + error.message); });
  });
})();
`
