// Calls `run` at most once every `intervalMs`, and at most that long (plus a running call) after
// it was asked for. A trailing debounce would not do: under a steady stream of updates it waits
// for a quiet moment that never comes.

export function throttle(run, intervalMs) {
  let asked = false;
  let running = false;
  let timer = 0;
  let last = -Infinity;

  async function fire() {
    timer = 0;
    asked = false;
    running = true;
    try {
      await run();
    } finally {
      running = false;
      last = performance.now();
      if (asked) schedule(); // asked again while it ran: what it read may be older
    }
  }

  function schedule() {
    timer = setTimeout(fire, Math.max(0, last + intervalMs - performance.now()));
  }

  return () => {
    asked = true;
    if (!timer && !running) schedule();
  };
}
