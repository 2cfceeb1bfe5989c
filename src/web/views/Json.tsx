/** JSON as a tree of collapsible objects and lists (<details>: keyboard and screen readers work on it as is). */
export function Json({ value, name, depth = 0 }: { value: unknown; name?: string; depth?: number }) {
  const key = name !== undefined ? <span class="json-key">{name}: </span> : null;
  if (value === null || typeof value !== 'object') {
    const text = typeof value === 'string' ? JSON.stringify(value.length > 2000 ? `${value.slice(0, 2000)}…` : value) : String(value);
    return (
      <div class="json-leaf">
        {key}
        <span class={`json-${value === null ? 'null' : typeof value}`}>{text}</span>
      </div>
    );
  }
  const entries: Array<[string, unknown]> = Array.isArray(value) ? value.slice(0, 1000).map((v, i) => [String(i), v]) : Object.entries(value);
  const brackets = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return (
    <details class="json" open={depth < 2}>
      <summary>
        {key}
        {brackets[0]}
        <span class="muted"> {entries.length} </span>
        {brackets[1]}
      </summary>
      <div class="json-body">
        {entries.map(([k, v]) => (
          <Json value={v} name={k} depth={depth + 1} />
        ))}
      </div>
    </details>
  );
}
