/** The live board's stylesheet, served as /app.css (the page allows no inline styles). */
export const STYLES = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d232b;background:#f3f5f8}
header{display:flex;gap:12px;align-items:center;flex-wrap:wrap;padding:10px 16px;background:#1d232b;color:#f3f5f8}
header h1{font-size:16px;margin:0}header a{color:inherit;text-decoration:none}
.js .token-field{display:none}
header .location{font-family:ui-monospace,monospace;opacity:.85;overflow-wrap:anywhere}
.badge{padding:1px 8px;border-radius:10px;background:#3a4452;font-size:12px}
.live{margin-left:auto}.live.on{background:#1f7a3d}.live.off{background:#8a3a1a}
header label{font-size:12px}header input{width:14em}
main{padding:12px 16px}
.top{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:12px}
.panel{background:#fff;border:1px solid #d8dde4;border-radius:6px;padding:8px 12px;min-width:320px}
.panel h2{font-size:13px;margin:0 0 6px;text-transform:uppercase;letter-spacing:.04em;color:#56606d}
#health{flex:1}
.throughput{margin:0}.throughput figcaption{font-size:12px;color:#56606d}
rect.done{fill:#2f9e55}rect.failed{fill:#d0453a}line.axis{stroke:#aab3bf}
.findings{list-style:none;margin:0;padding:0;max-height:160px;overflow:auto}
.finding{padding:2px 0;border-top:1px solid #eef0f3}
.severity{display:inline-block;min-width:4.5em;font-size:11px;text-transform:uppercase;font-weight:600}
.finding.ok .severity,.summary.ok,.summary.info{color:#1f7a3d}.finding.info .severity{color:#2d6cb5}
.finding.warning .severity,.summary.warning{color:#a86500}.finding.error .severity,.summary.error,p.error{color:#b3261e}
.detail,.action{font-size:12px;color:#56606d;margin-left:4.8em;overflow-wrap:anywhere}
.finding .detail{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden}.action{color:#1d232b}
.muted{color:#7a8491}
.columns{display:grid;grid-auto-flow:column;grid-auto-columns:minmax(140px,1fr);gap:8px;overflow-x:auto;align-items:start}
.column{background:#e6eaef;border-radius:6px;padding:6px}
.column h2{font-size:13px;margin:2px 4px 6px;display:flex;justify-content:space-between}
.count{background:#fff;border-radius:9px;padding:0 7px;font-weight:600}
.column ol{list-style:none;margin:0;padding:0}
.card{background:#fff;border-radius:5px;padding:6px 8px;margin-bottom:6px;box-shadow:0 1px 1px rgba(0,0,0,.08)}
.card a{color:inherit;text-decoration:none;font-weight:500;overflow-wrap:anywhere}.card a:hover{text-decoration:underline}
.card .meta,.card .note,.more{font-size:11px;color:#6b7583}.card .note{color:#a33;overflow-wrap:anywhere}
.card.changed{outline:2px solid #f0b400}
#detail{position:fixed;top:0;right:0;bottom:0;width:min(560px,100%);overflow:auto;background:#fff;border-left:1px solid #c9d0d8;box-shadow:-4px 0 16px rgba(0,0,0,.12);padding:12px 16px}
#detail[hidden]{display:none}
.task h2{margin:0 0 4px;font-size:18px;overflow-wrap:anywhere}
.task table{border-collapse:collapse;width:100%;font-size:12px;margin-bottom:10px}
.task th,.task td{text-align:left;padding:3px 6px;border-bottom:1px solid #eef0f3;vertical-align:top;overflow-wrap:anywhere}
.task h3{font-size:13px;margin:14px 0 4px}
.task pre{background:#f6f8fa;padding:6px;white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px;max-height:240px;overflow:auto}
.actions form{display:inline-flex;gap:4px;margin:0 8px 6px 0}
.actions button{cursor:pointer}
.result{font-size:12px}.result.refused{color:#b3261e}.result.accepted{color:#1f7a3d}
.close{float:right}
`
