import { useEffect, useState } from 'preact/hooks';

export interface LiveProgress { run: number; progress: number }

/**
 * A task's run progress as its handler reports it: a stream of its own (`/events` for the one
 * task, run.started and run.progress only) while the task's detail is open, so the page-wide
 * stream never carries progress events the page would mostly drop. `ready`: the stream is
 * subscribed (its `ready` event), so what was reported between the detail's read and now is read
 * again (it would otherwise show only at the next report).
 */
export function useRunProgress(taskId: string, running: boolean, ready: () => void): LiveProgress | null {
  const [live, setLive] = useState<LiveProgress | null>(null);
  useEffect(() => {
    setLive(null);
    if (!running) return;
    const q = new URLSearchParams({ types: 'run.started,run.progress', taskId });
    const source = new EventSource(`/events?${q.toString()}`);
    const on = (e: Event) => {
      try {
        const data = JSON.parse((e as MessageEvent<string>).data) as { run?: unknown; progress?: unknown };
        if (typeof data.run === 'number') setLive({ run: data.run, progress: typeof data.progress === 'number' ? data.progress : 0 });
      } catch {
        // A malformed event shows nothing; the next one will.
      }
    };
    source.addEventListener('ready', () => ready());
    source.addEventListener('run.started', on);
    source.addEventListener('run.progress', on);
    return () => source.close();
  }, [taskId, running]);
  return live;
}
