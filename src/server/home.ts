/** The page at `/` when the dashboard is not built (no `dist/web`): who is signed in, and where things are. */
export function homePage(who: string | null): string {
  const body = who
    ? `<p>Signed in as <b>${escape(who)}</b>.</p>
<ul>
<li><a href="/api/v1/jobs">/api/v1/jobs</a>: your jobs (JSON)</li>
<li><a href="/api/v1/events">/api/v1/events</a>: the live event stream (SSE)</li>
<li><code>/moi-ws/</code>: moi's WebSocket</li>
<li><a href="/openapi.json">/openapi.json</a>: the API</li>
</ul>`
    : '<p>Not signed in: open the URL <code>sluice serve</code> printed (it ends in <code>?token=…</code>), or send <code>Authorization: Bearer TOKEN</code>.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sluice</title></head>
<body><h1>Sluice</h1>
${body}
</body></html>
`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
