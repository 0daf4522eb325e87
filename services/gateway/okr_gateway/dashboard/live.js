// Rollup updates from GET /api/v1/progress/stream. EventSource cannot send an Authorization
// header, so the stream is read with fetch() and parsed here; it reconnects with backoff.
//
// The stream has no replay: what was sent while it was down is lost. So after every reconnect
// (and after the first connection too when `resyncFirst`: a stream opened again on purpose)
// `onResync` is called, for the caller to read the current state again.

import { authHeaders } from "./api.js";

export function listen(onUpdate, onState, onResync, { resyncFirst = false } = {}) {
  let stopped = false;
  let delay = 1000;
  let connections = 0;
  const controller = new AbortController();

  async function connect() {
    while (!stopped) {
      try {
        const response = await fetch("/api/v1/progress/stream", {
          headers: authHeaders({ Accept: "text/event-stream" }),
          signal: controller.signal,
        });
        if (response.status === 401) return onState("signed out");
        if (!response.ok) throw new Error(`stream answered ${response.status}`);
        onState("live");
        delay = 1000;
        if (connections++ > 0 || resyncFirst) onResync();
        await read(response.body.getReader(), onUpdate);
      } catch (error) {
        if (stopped) return;
      }
      onState("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 30000);
    }
  }

  connect();
  return () => {
    stopped = true;
    controller.abort();
  };
}

async function read(reader, onUpdate) {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      dispatch(buffer.slice(0, end), onUpdate);
      buffer = buffer.slice(end + 2);
    }
  }
}

function dispatch(block, onUpdate) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue; // a comment: the heartbeat
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (event === "progress" && data.length) onUpdate(JSON.parse(data.join("\n")));
}
